namespace M3.Bench;

public static class EncoderBench
{
    public static int Run(string[] args)
    {
        Console.Error.WriteLine("encoder benchmark: not yet implemented");
        return 2;
    }
}
