namespace M3.Bench;

public static class TokenizerBench
{
    public static int Run(string[] args)
    {
        Console.Error.WriteLine("tokenizer benchmark: not yet implemented");
        return 2;
    }
}
