using System.Text.Json;

namespace M3.Server.Contracts;

/// <summary>
/// Thrown by the request converters: what the field must be. System.Text.Json adds the field's path, and
/// <see cref="Http.RequestJson"/> turns both into a 400 naming the field.
/// </summary>
internal sealed class RequestFieldException(string expectation) : JsonException(expectation);
