// Multi-head self-attention of one text with int8 products (AVX-512 VNNI); see int8_attention.cc.
#pragma once
#include <cstddef>
#include <cstdint>

namespace m3 {

// Bytes of scratch one call of Int8AttentionHead needs for a text of n tokens and heads of head_size.
size_t Int8AttentionScratchBytes(int64_t n, int64_t head_size);

// softmax(q·kᵀ/√d)·v of head `head` for one text: qkv holds the text's n rows of [Q | K | V] (3·hidden floats each,
// heads side by side in each third); writes the head's head_size columns of the n rows of out (hidden floats each).
// Needs a CPU with AVX-512 F/BW/VL/DQ and VNNI (CpuSupported).
void Int8AttentionHead(const float* qkv, float* out, int64_t n, int64_t hidden, int64_t head_size, int64_t head, void* scratch);

// Whether this CPU runs Int8AttentionHead.
bool CpuSupported();

}  // namespace m3
