namespace M3.Bench;

public static class ServerBench
{
    public static int Run(string[] args)
    {
        Console.Error.WriteLine("server benchmark: not yet implemented");
        return 2;
    }
}
