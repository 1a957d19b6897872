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
            .Produces<Envelope<Page<Tag>>>()
            .Produces<Envelope<ErrorData>>(StatusCodes.Status400BadRequest);
        tags.MapPost("", Create)
            .WithSummary("Create a tag; its name must be unused.")
            .Accepts<TagCreate>(ContentTypes.Json, ContentTypes.Form, ContentTypes.Multipart)
            .Produces<Envelope<Tag>>()
            .Produces<Envelope<ErrorData>>(StatusCodes.Status400BadRequest)
            .Produces<Envelope<EmptyData>>(StatusCodes.Status409Conflict);
        tags.MapPut("/{id}", Update)
            .WithSummary("Edit a tag: name, state; modified_by is required.")
            .Accepts<TagUpdate>(ContentTypes.Json, ContentTypes.Form, ContentTypes.Multipart)
            .Produces<Envelope<Tag>>()
            .Produces<Envelope<ErrorData>>(StatusCodes.Status400BadRequest)
            .Produces<Envelope<EmptyData>>(StatusCodes.Status404NotFound)
            .Produces<Envelope<EmptyData>>(StatusCodes.Status409Conflict);
        tags.MapDelete("/{id}", Delete)
            .WithSummary("Delete a tag (soft: it gets deleted_on and disappears from reads).")
            .Produces<Envelope<EmptyData>>()
            .Produces<Envelope<ErrorData>>(StatusCodes.Status400BadRequest)
            .Produces<Envelope<EmptyData>>(StatusCodes.Status404NotFound);
        return api;
    }

    public static async Task<IResult> List(
        [FromQuery] string? name, [FromQuery] string? state, [FromQuery] string? page,
        BlogStore store, IOptions<AppOptions> options, CancellationToken cancellationToken)
    {
        var v = new FieldValidator();
        var query = TagQuery.Parse(name, state, page, v);
        if (query is null)
        {
            return v.Failure();
        }

        return ApiResults.Ok(await store.ListTagsAsync(query, options.Value.PageSize, cancellationToken));
    }

    public static async Task<IResult> Create(HttpContext context, BlogStore store)
    {
        var (fields, failure) = await RequestFields.ReadAsync(context.Request, context.RequestAborted);
        if (failure is not null)
        {
            return failure;
        }

        var v = new FieldValidator();
        var create = TagCreate.Parse(fields!, v);
        if (create is null)
        {
            return v.Failure();
        }

        var tag = await store.CreateTagAsync(create, context.RequestAborted);
        return tag is null ? ApiResults.Fail(StatusCodes.Status409Conflict, ApiCode.TagExists) : ApiResults.Ok(tag);
    }

    public static async Task<IResult> Update(string id, HttpContext context, BlogStore store)
    {
        var (fields, failure) = await RequestFields.ReadAsync(context.Request, context.RequestAborted);
        if (failure is not null)
        {
            return failure;
        }

        var v = new FieldValidator();
        var tagId = v.Id("id", id, required: true);
        var update = TagUpdate.Parse(fields!, v);
        if (update is null || tagId is null)
        {
            return v.Failure();
        }

        var (outcome, tag) = await store.UpdateTagAsync(tagId.Value, update, context.RequestAborted);
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
        if (tagId is null)
        {
            return v.Failure();
        }

        return await store.DeleteTagAsync(tagId.Value, cancellationToken) ? ApiResults.Ok() : ApiResults.NotFound(ApiCode.TagNotFound);
    }
}
