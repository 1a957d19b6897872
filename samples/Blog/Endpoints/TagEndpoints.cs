using Blog.Api;
using Blog.Data;
using Blog.Options;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Blog.Endpoints;

/// <summary><c>/api/v1/tags</c>: list, create, edit and (soft-)delete tags.</summary>
internal static class TagEndpoints
{
    public static RouteGroupBuilder MapTagEndpoints(this RouteGroupBuilder api)
    {
        var tags = api.MapGroup("/tags").WithTags("tags");
        tags.MapGet("", List)
            .WithSummary("List tags that are not deleted, by name and state, one page of App:PageSize at a time.")
            .Answers<Page<Tag>>();
        tags.MapPost("", Create)
            .WithSummary("Create a tag; its name must be unused.")
            .AcceptsFormOrJson<TagCreate>()
            .Answers<Tag>(StatusCodes.Status409Conflict);
        tags.MapPut("/{id}", Update)
            .WithSummary("Edit a tag: name, state; modified_by is required.")
            .AcceptsFormOrJson<TagUpdate>()
            .Answers<Tag>(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        tags.MapDelete("/{id}", Delete)
            .WithSummary("Delete a tag (soft: it gets deleted_on and disappears from reads).")
            .Answers<EmptyData>(StatusCodes.Status404NotFound);
        return api;
    }

    public static async Task<IResult> List(
        [FromQuery] string? name, [FromQuery] string? state, [FromQuery] string? page,
        BlogStore store, IOptions<AppOptions> options, CancellationToken cancellationToken)
    {
        var v = new FieldValidator();
        var query = TagQuery.Parse(name, state, page, v);
        return query is null ? v.Failure() : ApiResults.Ok(await store.ListTagsAsync(query, options.Value.PageSize, cancellationToken));
    }

    public static async Task<IResult> Create(HttpContext context, BlogStore store)
    {
        var request = await Bound<TagCreate>.ReadAsync(context, TagCreate.Parse);
        if (request.Failure is not null)
        {
            return request.Failure;
        }

        var tag = await store.CreateTagAsync(request.Value!, context.RequestAborted);
        return tag is null ? ApiResults.Fail(StatusCodes.Status409Conflict, ApiCode.TagExists) : ApiResults.Ok(tag);
    }

    public static async Task<IResult> Update(string id, HttpContext context, BlogStore store)
    {
        var request = await Bound<TagUpdate>.ReadAsync(context, TagUpdate.Parse, id);
        if (request.Failure is not null)
        {
            return request.Failure;
        }

        var (outcome, tag) = await store.UpdateTagAsync(request.Id, request.Value!, context.RequestAborted);
        return outcome switch
        {
            WriteOutcome.Done => ApiResults.Ok(tag!),
            WriteOutcome.NameTaken => ApiResults.Fail(StatusCodes.Status409Conflict, ApiCode.TagExists),
            _ => ApiResults.NotFound(ApiCode.TagNotFound),
        };
    }

    public static async Task<IResult> Delete(string id, BlogStore store, CancellationToken cancellationToken)
    {
        var v = new FieldValidator();
        var tagId = v.Id("id", id, required: true);
        return tagId is null
            ? v.Failure()
            : await store.DeleteTagAsync(tagId.Value, cancellationToken) ? ApiResults.Ok() : ApiResults.NotFound(ApiCode.TagNotFound);
    }
}
