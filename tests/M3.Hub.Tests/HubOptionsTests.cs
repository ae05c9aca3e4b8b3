namespace M3.Hub.Tests;

public sealed class HubOptionsTests
{
    private static HubOptions From(params (string Name, string Value)[] vars) =>
        HubOptions.FromEnvironment(name => vars.FirstOrDefault(v => v.Name == name).Value);

    [Fact]
    public void Defaults_match_huggingface_hub()
    {
        var options = From();

        Assert.Equal("https://huggingface.co", options.Endpoint);
        Assert.Null(options.Token);
        Assert.False(options.Offline);
        Assert.EndsWith(Path.Combine("huggingface", "hub"), options.CacheDirectory);
    }

    [Fact]
    public void Reads_the_hf_variables()
    {
        var options = From(("HF_ENDPOINT", "http://mirror.local/"), ("HF_TOKEN", "hf_x"), ("HF_HOME", "/data/hf"), ("HF_HUB_OFFLINE", "1"));

        Assert.Equal("http://mirror.local", options.Endpoint);
        Assert.Equal("hf_x", options.Token);
        Assert.Equal(Path.Combine("/data/hf", "hub"), options.CacheDirectory);
        Assert.True(options.Offline);
    }

    [Fact]
    public void Xdg_cache_home_moves_the_default_cache()
    {
        Assert.Equal(Path.Combine("/xdg", "huggingface", "hub"), From(("XDG_CACHE_HOME", "/xdg")).CacheDirectory);
    }

    [Fact]
    public void Hub_cache_wins_over_hf_home()
    {
        Assert.Equal("/fast/cache", From(("HF_HOME", "/data/hf"), ("HF_HUB_CACHE", "/fast/cache")).CacheDirectory);
    }

    [Theory]
    [InlineData("0", false)]
    [InlineData("false", false)]
    [InlineData("true", true)]
    [InlineData("YES", true)]
    public void Offline_accepts_huggingface_hub_spellings(string value, bool offline)
    {
        Assert.Equal(offline, From(("HF_HUB_OFFLINE", value)).Offline);
    }
}
