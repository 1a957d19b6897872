using System.Buffers;
using System.Text;
using Baton.Kestrel;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Xunit;

namespace Baton.Tests;

public sealed class WarmUpTests
{
    [Fact]
    public void Found_paths_are_the_get_endpoints_without_route_parameters_in_the_order_mapped_and_not_the_health_checks()
    {
        var endpoints = new DefaultEndpointDataSource(
            Endpoint("/", "GET"),
            Endpoint("/api/v1/articles/{id}", "GET"),
            Endpoint("/api/v1/articles", "POST"),
            Endpoint("api/v1/tags", "GET", "HEAD"),
            Endpoint("/ws"),
            HealthChecks("/health/ready"),
            Endpoint("/", "GET"));

        Assert.Equal(["/", "/api/v1/tags", "/ws"], WarmUp.DiscoverPaths(endpoints));
        Assert.Empty(WarmUp.DiscoverPaths(null));
    }

    [Fact]
    public void At_most_32_paths_are_found()
    {
        var endpoints = new DefaultEndpointDataSource(Enumerable.Range(0, 40).Select(i => Endpoint($"/p{i}", "GET")));
        Assert.Equal(WarmUp.MaxDiscoveredPaths, WarmUp.DiscoverPaths(endpoints).Count);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\n", true, 200)]
    [InlineData("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", true, 503)]
    [InlineData("HTTP/1.1 200 O", false, 0)]
    [InlineData("garbage\r\n", false, 0)]
    public void The_status_is_read_once_the_first_line_is_complete(string received, bool complete, int status)
    {
        Assert.Equal(complete, WarmUp.TryReadStatus(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(received)), out var read));
        Assert.Equal(status, read);
    }

    [Fact]
    public void A_warm_up_request_is_told_apart_by_its_connection_not_by_anything_a_client_sends()
    {
        var warm = new DefaultHttpContext();
        warm.Connection.Id = WarmUp.ConnectionIdPrefix + "1";
        var client = new DefaultHttpContext();
        client.Connection.Id = "0HN7";
        client.Request.Headers.UserAgent = "Baton-WarmUp";

        Assert.True(warm.IsBatonWarmUp());
        Assert.False(client.IsBatonWarmUp());
    }

    private static RouteEndpoint Endpoint(string pattern, params string[] methods)
    {
        var metadata = methods.Length > 0 ? new EndpointMetadataCollection(new HttpMethodMetadata(methods)) : EndpointMetadataCollection.Empty;
        return new RouteEndpoint(_ => Task.CompletedTask, RoutePatternFactory.Parse(pattern), 0, metadata, displayName: null);
    }

    /// <summary>As MapHealthChecks maps it: any method, display name "Health checks".</summary>
    private static RouteEndpoint HealthChecks(string pattern) =>
        new(_ => Task.CompletedTask, RoutePatternFactory.Parse(pattern), 0, EndpointMetadataCollection.Empty, "Health checks");
}
