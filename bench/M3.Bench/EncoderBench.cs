using M3.Bench.Encoder;

namespace M3.Bench;

public static class EncoderBench
{
    public static int Run(string[] args)
    {
        if (args.FirstOrDefault() == EngineWorker.Flag) return EngineWorker.Run(args[1..]);
        if (args.FirstOrDefault() == "--kernels")
        {
            var threads = args.Length > 1 ? int.Parse(args[1]) : Environment.ProcessorCount;
            foreach (var (kernel, k, n, gflops) in MatMulCeiling.Kernels(threads))
                Console.WriteLine($"{kernel,-44} K={k,-5} N={n,-5} {gflops,8:F1} GFLOP/s");
            foreach (var (kernel, tokens, ms) in AttentionKernels.Measure(threads, [512, 1024, 2048]))
                Console.WriteLine($"{kernel,-60} {tokens,5} tokens {ms,8:F1} ms");
            return 0;
        }
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
