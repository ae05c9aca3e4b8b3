// Why hand-written: ONNX Runtime 1.31 has no int8 attention kernel on the CPU. Its fused attention (flash, float32) left
// attention at about a quarter of the int8 encoder's time on documents, and the op-by-op int8 forms (MatMulInteger,
// Softmax, MatMulInteger) write the n×n scores and probabilities out between operators, so they are memory-bound and no
// faster (docs/performance.md). This kernel keeps a block of score rows in cache and does both products with VNNI.
//
// Quantization, all symmetric: Q and K per row (token) to int8, V per column (head dimension) to int8, and the softmax
// numerators exp(s − max) ∈ (0, 1] to uint8 with a fixed step of 1/255 (each row's largest is exactly 255). The row sum
// is taken over the quantized numerators, so the weights that multiply V sum to one exactly.
//
// This file is compiled for AVX-512 as a whole; it uses no inline library functions (std::min, std::sqrt), whose shared
// copies the linker could otherwise pick for code that runs before the CPU check.
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")
#include "int8_attention.h"

#include <immintrin.h>
#include <cstring>

namespace m3 {
namespace {

constexpr int64_t kRows = 8;  // query rows whose scores are computed together (one K load feeds 8 products)

inline int64_t RoundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
inline int64_t Min(int64_t a, int64_t b) { return a < b ? a : b; }

// Lanes [0, count) of 16 floats at p, zeros beyond: heads narrower than 16 (or not a multiple of it) are padded with zeros,
// which add nothing to a dot product.
inline __m512 Load(const float* p, int64_t count) {
  return count >= 16 ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << count) - 1), p);
}

// e^x for x ≤ 0 (to float32 accuracy well below the 1/255 step it is quantized to): 2^(x·log2 e) split into an integer
// power (scalef) and a degree-6 polynomial of the fraction in [−½, ½].
inline __m512 Exp(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.f));
  const __m512 t = _mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f));
  const __m512 n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 f = _mm512_sub_ps(t, n);
  __m512 p = _mm512_set1_ps(1.535336188319500e-4f);
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.339887440266574e-3f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.618437357674640e-3f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.550332471162809e-2f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.402264791363012e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931472028550421e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

// max |x| over a row of d floats; the int8 scale is that / 127 (1 for an all-zero row, which then quantizes to zeros).
inline float RowScale(const float* x, int64_t d) {
  __m512 m = _mm512_setzero_ps();
  for (int64_t c = 0; c < d; c += 16) m = _mm512_max_ps(m, _mm512_abs_ps(Load(x + c, d - c)));
  const float mx = _mm512_reduce_max_ps(m);
  return mx > 0 ? mx / 127.f : 1.f;
}

struct Scratch {
  int8_t* k;      // [np/16][dp/4][16 keys][4]: VNNI layout, 16 keys per 64-byte vector
  float* kScale;  // [np]
  int32_t* kSum;  // [np]: Σ of each key's int8 values, to undo Q's +128 offset
  int8_t* v;      // [np/4][dp][4]: VNNI layout, 4 keys per 32-bit lane
  float* vScale;  // [dp]
  uint8_t* q;     // [np][dp]: int8 + 128, as VNNI's unsigned operand
  float* qScale;  // [np]
  float* scores;  // [kRows][np]
  uint8_t* p;     // [kRows][np]
};

Scratch Carve(void* memory, int64_t np, int64_t dp) {
  auto* b = static_cast<uint8_t*>(memory);
  Scratch s;
  s.k = reinterpret_cast<int8_t*>(b); b += np * dp;
  s.v = reinterpret_cast<int8_t*>(b); b += np * dp;
  s.q = b; b += np * dp;
  s.p = b; b += kRows * np;
  s.kScale = reinterpret_cast<float*>(b); b += np * 4;
  s.kSum = reinterpret_cast<int32_t*>(b); b += np * 4;
  s.qScale = reinterpret_cast<float*>(b); b += np * 4;
  s.vScale = reinterpret_cast<float*>(b); b += dp * 4;
  s.scores = reinterpret_cast<float*>(b);
  return s;
}

void PackKeys(const float* k, int64_t stride, int64_t n, int64_t np, int64_t d, int64_t dp, const Scratch& s) {
  std::memset(s.k, 0, np * dp);
  for (int64_t j = 0; j < np; j++) {
    if (j >= n) { s.kScale[j] = 0; s.kSum[j] = 0; continue; }
    const float* row = k + j * stride;
    const float scale = RowScale(row, d);
    s.kScale[j] = scale;
    const __m512 inverse = _mm512_set1_ps(1.f / scale);
    __m512i sum = _mm512_setzero_si512();
    alignas(64) int8_t quantized[256 + 16] = {};
    for (int64_t c = 0; c < d; c += 16) {
      const __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(Load(row + c, d - c), inverse));
      sum = _mm512_add_epi32(sum, q);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(quantized + c), _mm512_cvtsepi32_epi8(q));
    }
    s.kSum[j] = _mm512_reduce_add_epi32(sum);
    int8_t* block = s.k + (j / 16) * dp * 16 + (j % 16) * 4;
    for (int64_t c4 = 0; c4 < dp / 4; c4++) std::memcpy(block + c4 * 64, quantized + c4 * 4, 4);
  }
}

// V quantized per column, rows first written row-major to `rows` (np·dp bytes, free until the queries are packed), then
// interleaved four keys at a time: each 32-bit lane of the packed layout holds one column of four consecutive keys.
void PackValues(const float* v, int64_t stride, int64_t n, int64_t np, int64_t d, int64_t dp, const Scratch& s, int8_t* rows) {
  for (int64_t c = 0; c < dp; c += 16) {
    __m512 m = _mm512_set1_ps(1e-30f);
    if (c < d)
      for (int64_t j = 0; j < n; j++) m = _mm512_max_ps(m, _mm512_abs_ps(Load(v + j * stride + c, d - c)));
    _mm512_storeu_ps(s.vScale + c, _mm512_div_ps(m, _mm512_set1_ps(127.f)));
  }
  std::memset(rows + n * dp, 0, (np - n) * dp);
  for (int64_t j = 0; j < n; j++)
    for (int64_t c = 0; c < dp; c += 16) {
      const __m512 x = c < d ? Load(v + j * stride + c, d - c) : _mm512_setzero_ps();
      const __m512i q = _mm512_cvtps_epi32(_mm512_div_ps(x, _mm512_loadu_ps(s.vScale + c)));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(rows + j * dp + c), _mm512_cvtsepi32_epi8(q));
    }
  for (int64_t j = 0; j < np; j += 4)
    for (int64_t c = 0; c < dp; c += 16) {
      __m512i word = _mm512_setzero_si512();
      for (int b = 0; b < 4; b++) {
        const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows + (j + b) * dp + c));
        word = _mm512_or_si512(word, _mm512_slli_epi32(_mm512_cvtepu8_epi32(bytes), 8 * b));
      }
      _mm512_storeu_si512(s.v + j * dp + c * 4, word);
    }
}

void PackQueries(const float* q, int64_t stride, int64_t n, int64_t d, int64_t dp, const Scratch& s) {
  for (int64_t i = 0; i < n; i++) {
    const float* row = q + i * stride;
    const float scale = RowScale(row, d);
    s.qScale[i] = scale;
    const __m512 inverse = _mm512_set1_ps(1.f / scale);
    for (int64_t c = 0; c < dp; c += 16) {
      const __m512 x = c < d ? Load(row + c, d - c) : _mm512_setzero_ps();
      const __m512i u = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(x, inverse)), _mm512_set1_epi32(128));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(s.q + i * dp + c), _mm512_cvtusepi32_epi8(u));
    }
  }
}

// Scores of rows [i0, i0 + rows) against `Blocks` blocks of 16 keys from block jb, scaled by 1/√d: each broadcast of a
// query's 4 bytes feeds `Blocks` products and each load of keys feeds kRows.
template <int Blocks>
void ScoreBlocks(int64_t i0, int64_t rows, int64_t jb, int64_t n, int64_t np, int64_t dp, float scale, const Scratch& s) {
  __m512i acc[kRows][Blocks];
  for (int64_t r = 0; r < kRows; r++)
    for (int b = 0; b < Blocks; b++) acc[r][b] = _mm512_setzero_si512();
  const uint8_t* query[kRows];
  for (int64_t r = 0; r < kRows; r++) query[r] = s.q + Min(i0 + r, n - 1) * dp;
  for (int64_t c4 = 0; c4 < dp / 4; c4++) {
    __m512i keys[Blocks];
    for (int b = 0; b < Blocks; b++) keys[b] = _mm512_loadu_si512(s.k + (jb + b) * dp * 16 + c4 * 64);
    for (int64_t r = 0; r < kRows; r++) {
      int32_t q4;
      std::memcpy(&q4, query[r] + c4 * 4, 4);
      const __m512i q = _mm512_set1_epi32(q4);
      for (int b = 0; b < Blocks; b++) acc[r][b] = _mm512_dpbusd_epi32(acc[r][b], q, keys[b]);
    }
  }
  for (int b = 0; b < Blocks; b++) {
    const int64_t key = (jb + b) * 16;
    const __m512i offset = _mm512_slli_epi32(_mm512_loadu_si512(s.kSum + key), 7);  // 128 · Σk
    const __m512 keyScale = _mm512_loadu_ps(s.kScale + key);
    for (int64_t r = 0; r < rows; r++) {
      const __m512 dot = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][b], offset));
      _mm512_storeu_ps(s.scores + r * np + key, _mm512_mul_ps(_mm512_mul_ps(dot, keyScale), _mm512_set1_ps(s.qScale[i0 + r] * scale)));
    }
  }
}

void Scores(int64_t i0, int64_t rows, int64_t n, int64_t np, int64_t dp, float scale, const Scratch& s) {
  int64_t jb = 0;
  for (; jb + 2 <= np / 16; jb += 2) ScoreBlocks<2>(i0, rows, jb, n, np, dp, scale, s);
  if (jb < np / 16) ScoreBlocks<1>(i0, rows, jb, n, np, dp, scale, s);
}

// Softmax numerators of one score row as uint8 (the row's largest is 255); returns their sum.
int32_t Numerators(float* row, uint8_t* p, int64_t n, int64_t np) {
  for (int64_t j = n; j < np; j++) row[j] = -__builtin_inff();
  __m512 m = _mm512_set1_ps(-__builtin_inff());
  for (int64_t j = 0; j < np; j += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(row + j));
  const __m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(m));
  __m512i sum = _mm512_setzero_si512();
  for (int64_t j = 0; j < np; j += 16) {
    const __m512 e = Exp(_mm512_sub_ps(_mm512_loadu_ps(row + j), mx));
    const __m512i u = _mm512_cvtps_epi32(_mm512_mul_ps(e, _mm512_set1_ps(255.f)));
    sum = _mm512_add_epi32(sum, u);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p + j), _mm512_cvtusepi32_epi8(u));
  }
  return _mm512_reduce_add_epi32(sum);
}

// Contexts of four rows for `Cols` 16-wide column chunks from column c0: Σ_j p_j·v_j / Σ_j p_j. The four rows share
// each load of V (16 products per 4 loads, where one row at a time made 4). Rows past `rows` repeat the last one and are
// not written.
template <int Cols>
void ContextBlock(const uint8_t* p, const int32_t* pSum, int64_t rows, int64_t np, int64_t d, int64_t dp, int64_t c0, const Scratch& s,
                  float* out, int64_t outStride) {
  __m512i acc[4][Cols];
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < Cols; c++) acc[r][c] = _mm512_setzero_si512();
  const uint8_t* row[4];
  for (int r = 0; r < 4; r++) row[r] = p + Min(r, rows - 1) * np;
  for (int64_t j4 = 0; j4 < np / 4; j4++) {
    const int8_t* group = s.v + j4 * dp * 4 + c0 * 4;
    __m512i values[Cols];
    for (int c = 0; c < Cols; c++) values[c] = _mm512_loadu_si512(group + c * 64);
    for (int r = 0; r < 4; r++) {
      int32_t p4;
      std::memcpy(&p4, row[r] + j4 * 4, 4);
      const __m512i weights = _mm512_set1_epi32(p4);
      for (int c = 0; c < Cols; c++) acc[r][c] = _mm512_dpbusd_epi32(acc[r][c], weights, values[c]);
    }
  }
  for (int64_t r = 0; r < rows; r++) {
    const __m512 inverse = _mm512_set1_ps(1.f / static_cast<float>(pSum[r]));
    for (int c = 0; c < Cols; c++) {
      const int64_t col = c0 + c * 16;
      if (col >= d) break;
      const __m512 y = _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(acc[r][c]), _mm512_loadu_ps(s.vScale + col)), inverse);
      float* o = out + r * outStride + col;
      if (d - col >= 16) _mm512_storeu_ps(o, y);
      else _mm512_mask_storeu_ps(o, static_cast<__mmask16>((1u << (d - col)) - 1), y);
    }
  }
}

// Contexts of up to four rows, over the head's columns in chunks of up to 64.
void Contexts(const uint8_t* p, const int32_t* pSum, int64_t rows, int64_t np, int64_t d, int64_t dp, const Scratch& s, float* out,
              int64_t outStride) {
  for (int64_t c0 = 0; c0 < dp; c0 += 64) {
    switch (Min(4, (dp - c0) / 16)) {
      case 4: ContextBlock<4>(p, pSum, rows, np, d, dp, c0, s, out, outStride); break;
      case 3: ContextBlock<3>(p, pSum, rows, np, d, dp, c0, s, out, outStride); break;
      case 2: ContextBlock<2>(p, pSum, rows, np, d, dp, c0, s, out, outStride); break;
      default: ContextBlock<1>(p, pSum, rows, np, d, dp, c0, s, out, outStride); break;
    }
  }
}

}  // namespace

size_t Int8AttentionScratchBytes(int64_t n, int64_t head_size) {
  const int64_t np = RoundUp(n, 16), dp = RoundUp(head_size, 16);
  return static_cast<size_t>(3 * np * dp + kRows * np + 3 * np * 4 + dp * 4 + kRows * np * 4 + 64);
}

void Int8AttentionHead(const float* qkv, float* out, int64_t n, int64_t hidden, int64_t head_size, int64_t head, void* scratch) {
  const int64_t np = RoundUp(n, 16), dp = RoundUp(head_size, 16), stride = 3 * hidden;
  const Scratch s = Carve(scratch, np, dp);
  const float* q = qkv + head * head_size;
  PackKeys(q + hidden, stride, n, np, head_size, dp, s);
  PackValues(q + 2 * hidden, stride, n, np, head_size, dp, s, reinterpret_cast<int8_t*>(s.q));
  PackQueries(q, stride, n, head_size, dp, s);
  const float scale = 1.f / __builtin_sqrtf(static_cast<float>(head_size));
  for (int64_t i0 = 0; i0 < n; i0 += kRows) {
    const int64_t rows = Min(kRows, n - i0);
    Scores(i0, rows, n, np, dp, scale, s);
    int32_t sums[kRows];
    for (int64_t r = 0; r < rows; r++) sums[r] = Numerators(s.scores + r * np, s.p + r * np, n, np);
    for (int64_t r0 = 0; r0 < rows; r0 += 4)
      Contexts(s.p + r0 * np, sums + r0, Min(4, rows - r0), np, head_size, dp, s, out + (i0 + r0) * hidden + head * head_size, hidden);
  }
}

}  // namespace m3
