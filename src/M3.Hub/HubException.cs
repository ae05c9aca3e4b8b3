namespace M3.Hub;

/// <summary>A model could not be resolved; the message says what went wrong and what to do about it.</summary>
public sealed class HubException(string message, Exception? inner = null) : M3Exception(message, inner);
