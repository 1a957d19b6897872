using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;

namespace Blog.Tests;

/// <summary>
/// The built Blog started as a real process (`dotnet Blog.dll`, or BLOG_TEST_EXE) in the Production environment, from a private content
/// root (its own appsettings.json and data/blog.db), on 127.0.0.1 with a port the kernel picks, read back from the
/// log. Disposal kills it by pid, whatever happened.
/// </summary>
internal sealed partial class BlogProcess : IAsyncDisposable
{
    public const string Secret = "blog-tests-secret-0123456789abcdef0123456789";

    /// <summary>The user that <see cref="StartWithUserAsync"/> creates with <c>users add</c> (Production has no demo user).</summary>
    public const string Username = "tester";

    public const string Password = "tester password 1";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    private readonly Process process;
    private readonly ConcurrentQueue<string> lines = new();
    private readonly TaskCompletionSource<Uri> listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim newLine = new(0);

    private BlogProcess(Process process, string contentRoot)
    {
        this.process = process;
        ContentRoot = contentRoot;
    }

    public string ContentRoot { get; }

    public Uri BaseAddress { get; private set; } = null!;

    public HttpClient Client { get; private set; } = null!;

    public string Output => string.Join('\n', lines);

    public int Pid => process.Id;

    public static Task<BlogProcess> StartAsync(IReadOnlyDictionary<string, string?>? environment = null, params string[] arguments) =>
        StartInAsync(NewContentRoot(), environment, arguments);

    /// <summary>
    /// Creates <see cref="Username"/> the documented way, <c>Blog users add</c> with the password on standard input,
    /// with the same environment and arguments as the server, then starts the server on that database.
    /// </summary>
    public static async Task<BlogProcess> StartWithUserAsync(IReadOnlyDictionary<string, string?>? environment = null, params string[] arguments)
    {
        var contentRoot = NewContentRoot();
        try
        {
            var added = await RunCommandAsync(contentRoot, Password + "\n", environment, ["users", "add", Username, .. arguments]);
            Assert.True(added.ExitCode == 0, $"users add {Username}: exit code {added.ExitCode}\n{added.Output}\n{added.Error}");
        }
        catch
        {
            DeleteContentRoot(contentRoot);
            throw;
        }

        return await StartInAsync(contentRoot, environment, arguments);
    }

    /// <summary>A private content root: the build's appsettings files, no database yet. Deleted with the process.</summary>
    public static string NewContentRoot()
    {
        var contentRoot = Directory.CreateTempSubdirectory("blog-http-").FullName;
        var build = Build().Directory;
        File.Copy(Path.Combine(build, "appsettings.json"), Path.Combine(contentRoot, "appsettings.json"));
        File.Copy(Path.Combine(build, "appsettings.Development.json"), Path.Combine(contentRoot, "appsettings.Development.json"));
        return contentRoot;
    }

    /// <summary>
    /// Runs the Blog as a command (<c>users add ...</c>) on <paramref name="contentRoot"/> with
    /// <paramref name="standardInput"/> piped in, and waits for it to exit; killed if it has not within a minute.
    /// </summary>
    public static async Task<CommandResult> RunCommandAsync(
        string contentRoot, string? standardInput, IReadOnlyDictionary<string, string?>? environment, params string[] arguments)
    {
        var start = StartInfo(contentRoot, environment, [.. arguments, "--contentRoot", contentRoot]);
        start.RedirectStandardInput = true;
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Process.Start returned null");
        try
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            try
            {
                await process.StandardInput.WriteAsync(standardInput ?? "");
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // It exited without reading its input; its exit code and output say why.
            }

            using var timeout = new CancellationTokenSource(CommandTimeout);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Blog {string.Join(' ', arguments)} did not exit within {CommandTimeout.TotalSeconds} s (killed).");
            }

            return new CommandResult(process.ExitCode, await output, await error);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
                process.WaitForExit();
            }
        }
    }

    private static async Task<BlogProcess> StartInAsync(string contentRoot, IReadOnlyDictionary<string, string?>? environment, string[] arguments)
    {
        var blog = Launch(contentRoot, environment, arguments);
        try
        {
            var exited = blog.process.WaitForExitAsync();
            var first = await Task.WhenAny(blog.listening.Task, exited).WaitAsync(StartTimeout);
            if (first != blog.listening.Task)
            {
                throw new InvalidOperationException($"Blog exited with code {blog.process.ExitCode} before it served:\n{blog.Output}");
            }

            blog.BaseAddress = await blog.listening.Task;
            blog.Client = new HttpClient { BaseAddress = blog.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
            return blog;
        }
        catch
        {
            await blog.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the Blog expecting it to fail; returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunUntilExitAsync(IReadOnlyDictionary<string, string?>? environment = null, params string[] arguments)
    {
        await using var blog = Launch(NewContentRoot(), environment, arguments);
        using var timeout = new CancellationTokenSource(StartTimeout);
        var exited = blog.process.WaitForExitAsync(timeout.Token);
        var first = await Task.WhenAny(blog.listening.Task, exited);
        Assert.True(first == exited && exited.IsCompletedSuccessfully, $"Blog served or hung instead of failing:\n{blog.Output}");

        // The exit event can come before the last redirected lines; WaitForExit() without a timeout drains them.
        blog.process.WaitForExit();
        return (blog.process.ExitCode, blog.Output);
    }

    /// <summary>
    /// Waits until /health/ready answers 200. Kestrel says "Now listening" (how a start is seen) before Baton says the
    /// process serves - the host's other services start in between - and readiness is 503 until then, by design.
    /// </summary>
    public async Task WaitUntilReadyAsync()
    {
        using var deadline = new CancellationTokenSource(StartTimeout);
        while ((await SendAsync(HttpMethod.Get, "/health/ready")).Status != 200)
        {
            await Task.Delay(20, deadline.Token);
        }
    }

    /// <summary>Waits for an output line (already written or still to come) that matches.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match)
    {
        using var deadline = new CancellationTokenSource(StartTimeout);
        while (true)
        {
            if (lines.FirstOrDefault(match) is { } found)
            {
                return found;
            }

            try
            {
                await newLine.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"No output line matched within {StartTimeout.TotalSeconds} s:\n{Output}");
            }
        }
    }

    /// <summary>Sends a signal to the server process (SIGTERM: the stop Kubernetes and systemd send).</summary>
    public void Signal(int signal)
    {
        if (Kill(process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Waits for the server process to exit by itself; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(deadline.Token);
        return process.ExitCode;
    }

    public async Task<string> TokenAsync(string username = Username, string password = Password)
    {
        using var response = await Client.PostAsync("/auth", new FormUrlEncodedContent(new Dictionary<string, string> { ["username"] = username, ["password"] = password }));
        var (status, json) = await ReadAsync(response);
        Assert.True(status == 200, $"POST /auth: {status} {json}");
        return json.GetProperty("data").GetProperty("token").GetString()!;
    }

    public async Task<(int Status, JsonElement Body)> SendAsync(HttpMethod method, string path, string? token = null, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await Client.SendAsync(request);
        return await ReadAsync(response);
    }

    public static async Task<(int Status, JsonElement Body)> ReadAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.Content.Headers.ContentType?.MediaType == "application/json", $"{(int)response.StatusCode} is not JSON: '{text}'");
        using var document = JsonDocument.Parse(text);
        return ((int)response.StatusCode, document.RootElement.Clone());
    }

    public async ValueTask DisposeAsync()
    {
        Client?.Dispose();
        try
        {
            if (!process.HasExited)
            {
                process.Kill();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped.
        }
        catch (OperationCanceledException)
        {
            // Reported by the test that started it; nothing more to do here.
        }

        process.Dispose();
        newLine.Dispose();
        DeleteContentRoot(ContentRoot);
    }

    private static void DeleteContentRoot(string contentRoot)
    {
        try
        {
            Directory.Delete(contentRoot, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static BlogProcess Launch(string contentRoot, IReadOnlyDictionary<string, string?>? environment, string[] arguments)
    {
        var start = StartInfo(contentRoot, environment, ["--contentRoot", contentRoot, "--urls", "http://127.0.0.1:0", .. arguments]);
        var process = Process.Start(start) ?? throw new InvalidOperationException("Process.Start returned null");
        var blog = new BlogProcess(process, contentRoot);
        process.OutputDataReceived += (_, e) => blog.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => blog.OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return blog;
    }

    /// <summary>The Blog (the build under test) with <paramref name="arguments"/>, in Production, in <paramref name="contentRoot"/>.</summary>
    private static ProcessStartInfo StartInfo(string contentRoot, IReadOnlyDictionary<string, string?>? environment, IEnumerable<string> arguments)
    {
        var (build, native) = Build();
        var start = new ProcessStartInfo(native ?? "dotnet")
        {
            WorkingDirectory = contentRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (native is null)
        {
            start.ArgumentList.Add(Path.Combine(build, "Blog.dll"));
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["App__JwtSecret"] = Secret;
        start.Environment["Logging__Console__FormatterName"] = "simple";
        start.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            start.Environment[name] = value;
        }

        return start;
    }

    /// <summary>
    /// The build directory, and the native executable when BLOG_TEST_EXE names one (it runs the same tests against
    /// another build, e.g. the NativeAOT one from dotnet publish -p:PublishAot=true); null means `dotnet Blog.dll`.
    /// </summary>
    private static (string Directory, string? Native) Build()
    {
        var native = Environment.GetEnvironmentVariable("BLOG_TEST_EXE");
        return string.IsNullOrEmpty(native)
            ? (BuildDirectory(), null)
            : (Path.GetDirectoryName(Path.GetFullPath(native))!, Path.GetFullPath(native));
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lines.Enqueue(line);
        newLine.Release();
        if (ListeningRegex().Match(line) is { Success: true } match)
        {
            listening.TrySetResult(new Uri(match.Groups[1].Value));
        }
    }

    private static string BuildDirectory()
    {
        var configuration = AppContext.BaseDirectory.Contains("/bin/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Baton.slnx")))
            {
                var build = Path.Combine(directory.FullName, "samples", "Blog", "bin", configuration, "net10.0");
                return File.Exists(Path.Combine(build, "Blog.dll"))
                    ? build
                    : throw new FileNotFoundException($"The Blog is not built in {build}: dotnet build samples/Blog -c {configuration}.");
            }
        }

        throw new InvalidOperationException("Baton.slnx not found above " + AppContext.BaseDirectory);
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningRegex();
}

/// <summary>How a Blog command ended: its exit code and what it wrote.</summary>
internal sealed record CommandResult(int ExitCode, string Output, string Error);
