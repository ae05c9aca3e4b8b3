namespace M3.Bench;

public static class IndexBench
{
    public static int Run(string[] args)
    {
        Console.Error.WriteLine("index benchmark: not yet implemented");
        return 2;
    }
}
