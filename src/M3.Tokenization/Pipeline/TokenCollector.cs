using M3.Tokenization.Normalization;
using M3.Tokenization.Unigram;

namespace M3.Tokenization.Pipeline;

/// <summary>
/// Gathers the content tokens of one text up to the truncation limit, mapping word-relative spans back to
/// original-text offsets through the normalized text's alignment. Token strings and offsets are optional
/// so the ids-only path does no extra work.
/// </summary>
internal sealed class TokenCollector : ITokenSink
{
    public readonly List<int> Ids = new();
    public readonly List<string> Tokens = new();
    public readonly List<(int Start, int End)> Offsets = new();

    private UnigramModel _model = null!;
    private NormalizedText _text = null!;
    private int _wordStart, _limit;
    private bool _withDetails;

    public bool Full => Ids.Count >= _limit;

    /// <summary>A token arrived after the limit was reached: the text was longer than the limit allows.</summary>
    public bool Truncated { get; private set; }

    public void Reset(UnigramModel model, int limit, bool withDetails)
    {
        _model = model;
        _limit = limit;
        _withDetails = withDetails;
        Truncated = false;
        Ids.Clear();
        Tokens.Clear();
        Offsets.Clear();
    }

    /// <summary>Sets the word whose tokens come next: chars [wordStart, …) of <paramref name="text"/>.</summary>
    public void BeginWord(NormalizedText text, int wordStart)
    {
        _text = text;
        _wordStart = wordStart;
    }

    public void Add(int id, int start, int end)
    {
        if (Full)
        {
            Truncated = true;
            return;
        }
        Ids.Add(id);
        if (!_withDetails) return;
        int s = _wordStart + start, e = _wordStart + end;
        Tokens.Add(id == _model.UnknownId ? new string(_text.Chars, s, e - s) : _model.PieceOf(id));
        Offsets.Add((_text.Start[s], _text.End[e - 1]));
    }

    public void AddSpecial(int id, string content, int start, int end)
    {
        if (Full)
        {
            Truncated = true;
            return;
        }
        Ids.Add(id);
        if (!_withDetails) return;
        Tokens.Add(content);
        Offsets.Add((start, end));
    }
}
