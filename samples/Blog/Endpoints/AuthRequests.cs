using System.Text.Json.Serialization;
using Blog.Api;

namespace Blog.Endpoints;

/// <summary>Fields of <c>POST /auth</c> (form or JSON).</summary>
internal sealed record Credentials(
    [property: JsonPropertyName("username")] string Username,
    [property: JsonPropertyName("password")] string Password)
{
    public const int MaxLength = 50;

    public static Credentials? Parse(RequestFields fields, FieldValidator v)
    {
        var username = v.Text("username", fields["username"], MaxLength, required: true);
        // Passwords are taken as sent: white space may be part of one.
        var password = v.Text("password", fields["password"], MaxLength, required: true, trim: false);
        return v.IsValid ? new Credentials(username!, password!) : null;
    }
}
