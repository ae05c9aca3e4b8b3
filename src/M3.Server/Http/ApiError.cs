namespace M3.Server.Http;

/// <summary>A request that cannot be served, answered as an RFC 7807 problem with this status and a message safe to show.</summary>
internal sealed class ApiError(int status, string detail) : Exception(detail)
{
    public int Status { get; } = status;
}
