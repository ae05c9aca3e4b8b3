using M3.Bench.Encoder;

namespace M3.Bench;

public static class EncoderBench
{
    public static int Run(string[] args)
    {
        if (args.FirstOrDefault() == EngineWorker.Flag) return EngineWorker.Run(args[1..]);
        BenchSettings settings;
        try
        {
            settings = BenchSettings.Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
        return EncoderBenchmark.Run(settings);
    }
}
