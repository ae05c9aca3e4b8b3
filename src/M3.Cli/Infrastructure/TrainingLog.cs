using M3.Core.Training;

namespace M3.Cli.Infrastructure;

/// <summary>
/// <c>--log-json PATH</c>: one JSON line per optimizer step, flushed as it is written so a long run can be followed.
/// The file is created at the first step (so an --overwrite that clears the output folder cannot unlink it) and
/// appended to on --resume.
/// </summary>
internal sealed class TrainingLog : IDisposable
{
    private readonly string? path;
    private readonly bool append;
    private StreamWriter? _writer;

    public TrainingLog(string? path, bool append)
    {
        this.path = path;
        this.append = append;
        // Made before the model loads, so a log in a folder that does not exist yet costs no failed run.
        if (path != null) Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    public void Write(TrainingStepReport r)
    {
        if (path == null) return;
        _writer ??= new StreamWriter(path, append, new System.Text.UTF8Encoding(false)) { NewLine = "\n" };
        JsonLineWriter.WriteLine(_writer, json =>
        {
            json.WriteStartObject();
            json.WriteNumber("step", r.Step);
            json.WriteNumber("lr", r.LearningRate);
            json.WriteNumber("loss", r.Loss);
            json.WriteNumber("loss_dense", r.LossDense);
            Nullable(json, "loss_sparse", r.LossSparse);
            Nullable(json, "loss_colbert", r.LossColbert);
            Nullable(json, "loss_ensemble", r.LossEnsemble);
            Nullable(json, "loss_distill", r.LossDistill);
            json.WriteNumber("grad_norm", r.GradientNorm);
            json.WriteNumber("tokens", r.Tokens);
            json.WriteNumber("seconds", Math.Round(r.Seconds, 4));
            json.WriteEndObject();
        });
        _writer.Flush();
    }

    public void Dispose() => _writer?.Dispose();

    private static void Nullable(System.Text.Json.Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } v) json.WriteNumber(name, v);
        else json.WriteNull(name);
    }
}
