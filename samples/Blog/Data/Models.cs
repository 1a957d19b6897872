using System.Text.Json.Serialization;

namespace Blog.Data;

/// <summary>A tag (table <c>blog_tag</c>). Times are Unix seconds; <c>deleted_on</c> is 0 until a soft delete.</summary>
internal sealed record Tag(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("created_on")] long CreatedOn,
    [property: JsonPropertyName("created_by")] string CreatedBy,
    [property: JsonPropertyName("modified_on")] long ModifiedOn,
    [property: JsonPropertyName("modified_by")] string ModifiedBy,
    [property: JsonPropertyName("deleted_on")] long DeletedOn,
    [property: JsonPropertyName("state")] int State);

/// <summary>An article (table <c>blog_article</c>) with the tag it belongs to.</summary>
internal sealed record Article(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("tag_id")] long TagId,
    [property: JsonPropertyName("tag")] Tag? Tag,
    [property: JsonPropertyName("title")] string Title,
    [property: JsonPropertyName("desc")] string Desc,
    [property: JsonPropertyName("content")] string Content,
    [property: JsonPropertyName("cover_image_url")] string CoverImageUrl,
    [property: JsonPropertyName("created_on")] long CreatedOn,
    [property: JsonPropertyName("created_by")] string CreatedBy,
    [property: JsonPropertyName("modified_on")] long ModifiedOn,
    [property: JsonPropertyName("modified_by")] string ModifiedBy,
    [property: JsonPropertyName("deleted_on")] long DeletedOn,
    [property: JsonPropertyName("state")] int State);

/// <summary>A user that may ask for tokens (table <c>blog_auth</c>).</summary>
internal sealed record User(long Id, string Username, string PasswordHash);

/// <summary>The outcome of a write that can miss its row or its tag, or collide with another tag's name.</summary>
internal enum WriteOutcome
{
    Done,
    NotFound,
    TagNotFound,
    NameTaken,
}
