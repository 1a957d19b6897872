using Baton.Handover;
using Baton.Hosting;
using Baton.Interop;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Baton.Tests;

/// <summary>Baton:Standby's parent side (StandbyKeeper) with fake processes and files, and what it compares (snapshots).</summary>
public sealed class StandbyKeeperTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    [Fact]
    public void A_standby_is_started_as_one_and_a_sighup_tells_it_go_without_starting_another_process()
    {
        var standby = new FakeSuccessor(101);
        var launcher = new FakeLauncher().Then(standby);
        var keeper = Keeper(launcher, new FakeWatch());

        keeper.Tick();
        Assert.Equal([true], launcher.Standbys);
        Assert.Equal(2, Assert.Single(launcher.Starts).Generation);
        standby.Say(HandshakeMessage.Ready(101, 2).TrimEnd('\n'));
        WaitUntil(() => keeper.Current == (101, true));

        var outcome = keeper.TakeForHandover(TimeProvider.System.GetTimestamp(), CancellationToken.None);

        var succeeded = Assert.IsType<HandoverSucceeded>(outcome);
        Assert.Equal((101, 2), (succeeded.Pid, succeeded.Generation));
        Assert.True(standby.Accepted);
        Assert.True(standby.Hurried, "given its parent's priority before the go");
        Assert.Single(launcher.Starts);
        Assert.Null(keeper.Current);
    }

    [Fact]
    public async Task A_file_changed_since_the_standby_started_makes_a_sighup_start_a_new_process_and_the_standby_is_stopped()
    {
        var standby = new FakeSuccessor(101) { Exit = new ChildExit(0, null) };
        var launcher = new FakeLauncher().Then(standby);
        var watch = new FakeWatch();
        var keeper = await ReadyAsync(launcher, watch, standby);

        watch.Modified++;
        Assert.Null(keeper.TakeForHandover(TimeProvider.System.GetTimestamp(), CancellationToken.None));

        await keeper.StopAsync().WaitAsync(Wait);
        Assert.Equal([101], launcher.StopRequests);
        Assert.True(standby.Disposed);
        Assert.False(standby.Accepted);
    }

    [Fact]
    public async Task A_change_between_two_sighups_replaces_the_standby_once_the_files_hold_still()
    {
        var first = new FakeSuccessor(101) { Exit = new ChildExit(0, null) };
        var second = new FakeSuccessor(102);
        var launcher = new FakeLauncher().Then(first).Then(second);
        var watch = new FakeWatch();
        var keeper = await ReadyAsync(launcher, watch, first);

        watch.Modified++;
        keeper.Tick();
        WaitUntil(() => first.Disposed);
        Assert.Equal([101], launcher.StopRequests);
        Assert.Single(launcher.Starts);

        // Still changing (a deploy copying files): not yet.
        watch.Modified++;
        keeper.Tick();
        Assert.Single(launcher.Starts);

        keeper.Tick();
        Assert.Equal(2, launcher.Starts.Count);
        second.Say(HandshakeMessage.Ready(102, 2).TrimEnd('\n'));
        WaitUntil(() => keeper.Current == (102, true));
        Assert.Equal(102, Assert.IsType<HandoverSucceeded>(keeper.TakeForHandover(TimeProvider.System.GetTimestamp(), CancellationToken.None)).Pid);
    }

    [Fact]
    public void A_standby_that_failed_is_not_started_again_until_a_file_changes()
    {
        var failing = new FakeSuccessor(101);
        var next = new FakeSuccessor(102);
        var launcher = new FakeLauncher().Then(failing).Then(next);
        var watch = new FakeWatch();
        var keeper = Keeper(launcher, watch);

        keeper.Tick();
        failing.Say(HandshakeMessage.Failed("Baton:HammerTime must not be negative").TrimEnd('\n'));
        failing.Exit = new ChildExit(1, null);
        WaitUntil(() => keeper.Current is null);
        Assert.True(failing.Disposed);

        keeper.Tick();
        keeper.Tick();
        Assert.Single(launcher.Starts);
        Assert.Null(keeper.TakeForHandover(TimeProvider.System.GetTimestamp(), CancellationToken.None));
        keeper.HandoverFailed(newProcessFailed: true);
        keeper.Tick();
        Assert.Single(launcher.Starts);

        watch.Modified++;
        keeper.Tick();
        keeper.Tick();
        Assert.Equal(2, launcher.Starts.Count);
    }

    [Fact]
    public async Task A_standby_still_starting_at_a_sighup_is_waited_for()
    {
        var standby = new FakeSuccessor(101);
        var launcher = new FakeLauncher().Then(standby);
        var keeper = Keeper(launcher, new FakeWatch());
        keeper.Tick();

        var taking = Task.Run(() => keeper.TakeForHandover(TimeProvider.System.GetTimestamp(), CancellationToken.None));
        await Task.Delay(200);
        Assert.False(taking.IsCompleted);
        standby.Say(HandshakeMessage.Ready(101, 2).TrimEnd('\n'));

        Assert.Equal(101, Assert.IsType<HandoverSucceeded>(await taking.WaitAsync(Wait)).Pid);
        Assert.True(standby.Hurried, "waited for at its parent's priority");
        Assert.Single(launcher.Starts);
    }

    [Fact]
    public async Task A_standby_that_died_while_it_stood_by_is_not_used_and_the_sighup_starts_a_new_process()
    {
        var standby = new FakeSuccessor(101);
        var launcher = new FakeLauncher().Then(standby);
        var keeper = await ReadyAsync(launcher, new FakeWatch(), standby);

        standby.Die(new ChildExit(null, 9));

        Assert.Null(keeper.TakeForHandover(TimeProvider.System.GetTimestamp(), CancellationToken.None));
        Assert.True(standby.Disposed);
        Assert.False(standby.Accepted);
    }

    [Fact]
    public async Task No_standby_is_started_while_a_handover_runs_and_one_is_again_after_it_failed()
    {
        // Once a SIGHUP took the standby, another started then would be a third server process (it once was).
        var standby = new FakeSuccessor(101) { CannotBeTold = true, Exit = new ChildExit(1, null) };
        var next = new FakeSuccessor(102);
        var launcher = new FakeLauncher().Then(standby).Then(next);
        var keeper = await ReadyAsync(launcher, new FakeWatch(), standby);

        Assert.IsType<HandoverFailed>(keeper.TakeForHandover(TimeProvider.System.GetTimestamp(), CancellationToken.None));
        keeper.Tick();
        Assert.Single(launcher.Starts);

        keeper.HandoverFailed(newProcessFailed: false);
        keeper.Tick();
        Assert.Equal(2, launcher.Starts.Count);
    }

    [Fact]
    public async Task Stopping_stops_the_standby_and_starts_no_other()
    {
        var standby = new FakeSuccessor(101) { Exit = new ChildExit(0, null) };
        var launcher = new FakeLauncher().Then(standby);
        var keeper = await ReadyAsync(launcher, new FakeWatch(), standby);

        await keeper.StopAsync().WaitAsync(Wait);
        keeper.Tick();

        Assert.Equal([101], launcher.StopRequests);
        Assert.True(standby.Disposed);
        Assert.Single(launcher.Starts);
        Assert.Null(keeper.Current);
    }

    [Fact]
    public async Task The_coordinator_hands_over_to_the_standby_names_it_in_the_pid_file_first_and_stops_keeping_one()
    {
        var server = new FakeServer();
        var standby = new FakeSuccessor(101);
        var launcher = new FakeLauncher().Then(standby);
        var successors = new SuccessorLauncher(launcher, TimeProvider.System);
        var keeper = new StandbyKeeper(successors, new FakeWatch(), () => server.Listeners, 1, Wait, TimeProvider.System, NullLogger.Instance);
        var coordinator = new HandoverCoordinator(server, successors, TimeProvider.System, NullLogger.Instance, Wait, generation: 1, standby: keeper);
        coordinator.OnServing();
        coordinator.KeepStandby();
        WaitUntil(() => launcher.Starts.Count == 1);
        standby.Say(HandshakeMessage.Ready(101, 2).TrimEnd('\n'));
        WaitUntil(() => coordinator.Standby == (101, true));

        var result = await coordinator.RequestRestart().WaitAsync(Wait);

        Assert.Equal(101, Assert.IsType<RestartSucceeded>(result).Pid);
        Assert.Equal([101], server.PidFileHandedTo);
        Assert.Single(launcher.Starts);
        await keeper.Loop.WaitAsync(Wait);
        Assert.Single(launcher.Starts);
    }

    [Fact]
    public async Task A_sighup_to_a_standby_not_yet_told_go_is_refused()
    {
        var server = new FakeServer { OwnsListeners = false, StandingBy = true };
        var launcher = new FakeLauncher();
        var coordinator = new HandoverCoordinator(server, new SuccessorLauncher(launcher, TimeProvider.System), TimeProvider.System, NullLogger.Instance, Wait, generation: 2);
        coordinator.OnServing();

        var result = coordinator.RequestRestart();

        Assert.True(result.IsCompletedSuccessfully);
        Assert.IsType<RestartRefused>(await result);
        Assert.Empty(launcher.Starts);
        Assert.Equal(BatonState.Serving, coordinator.State);
    }

    private static StandbyKeeper Keeper(FakeLauncher launcher, FakeWatch watch) =>
        new(new SuccessorLauncher(launcher, TimeProvider.System), watch, () => [], 1, Wait, TimeProvider.System, NullLogger.Instance);

    private static Task<StandbyKeeper> ReadyAsync(FakeLauncher launcher, FakeWatch watch, FakeSuccessor standby)
    {
        var keeper = Keeper(launcher, watch);
        keeper.Tick();
        standby.Say(HandshakeMessage.Ready(standby.Pid, 2).TrimEnd('\n'));
        WaitUntil(() => keeper.Current == (standby.Pid, true));
        return Task.FromResult(keeper);
    }

    private static void WaitUntil(Func<bool> condition)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < Wait, "condition not met in time");
            Thread.Sleep(5);
        }
    }

    private sealed class FakeWatch : IStandbyWatch
    {
        public long Modified { get; set; } = 1;

        public StandbySnapshot Take() => new([KeyValuePair.Create("/app/appsettings.json", new FileIdentity(true, 1, 7, 100, Modified, Modified))]);
    }
}

/// <summary>What a snapshot sees change, on real files; what the watch counts as the standby's files.</summary>
public sealed class StandbySnapshotTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("baton-snapshot-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Nothing_changed_is_no_change()
    {
        var file = Write("appsettings.json", "{}");
        Assert.Null(StandbySnapshot.Of([file, _directory]).ChangeSince(StandbySnapshot.Of([file, _directory])));
    }

    [Fact]
    public void A_file_written_in_place_is_modified()
    {
        var file = Write("appsettings.json", "{\"a\":1}");
        var before = StandbySnapshot.Of([file]);
        File.WriteAllText(file, "{\"a\":2}");
        Assert.Equal($"{file} was modified", StandbySnapshot.Of([file]).ChangeSince(before));
    }

    [Fact]
    public void A_file_replaced_by_a_rename_with_its_old_size_and_modification_time_is_replaced()
    {
        // rsync -t, tar, cp -p: the same size and modification time, other content, a new inode.
        var file = Write("cert.pem", "AAAA");
        var modified = File.GetLastWriteTimeUtc(file);
        var before = StandbySnapshot.Of([file]);
        var next = Write("cert.pem.new", "BBBB");
        File.SetLastWriteTimeUtc(next, modified);
        File.Move(next, file, overwrite: true);

        var change = StandbySnapshot.Of([file]).ChangeSince(before);
        Assert.Equal(FileIdentity.HasStatx ? $"{file} was replaced" : null, change);
    }

    [Fact]
    public void Files_created_and_removed_and_paths_added_are_changes()
    {
        var optional = Path.Combine(_directory, "appsettings.Production.json");
        var kept = Write("appsettings.json", "{}");
        var before = StandbySnapshot.Of([kept, optional]);

        File.WriteAllText(optional, "{}");
        Assert.Equal($"{optional} was created", StandbySnapshot.Of([kept, optional]).ChangeSince(before));

        File.Delete(kept);
        Assert.Equal($"{kept} was removed", StandbySnapshot.Of([kept]).ChangeSince(StandbySnapshot.Of([Write("appsettings.json", "{}")])));

        // Three changes since the first snapshot: the file added, the optional one created, the other one written anew.
        var added = Write("New.dll", "x");
        Assert.Equal($"{added} was added, and 2 more change(s)", StandbySnapshot.Of([kept, optional, added]).ChangeSince(before));
    }

    [Fact]
    public void A_file_created_in_a_watched_directory_changes_nothing()
    {
        // The app's directory is watched for which directory it is: a pid file or a log written beside the app is no change.
        var before = StandbySnapshot.Of([_directory]);
        Write("app.pid", "123");
        Assert.Null(StandbySnapshot.Of([_directory]).ChangeSince(before));
    }

    [Fact]
    public void The_watch_finds_the_configuration_files_optional_ones_too_and_the_certificates_kestrel_names()
    {
        var settings = Write("appsettings.json", """{ "Kestrel": { "Certificates": { "Default": { "Path": "cert.pem", "KeyPath": "/etc/ssl/key.pem" } }, "Endpoints": { "Https": { "Url": "https://127.0.0.1:0", "Certificate": { "Path": "other.pfx" } } } } }""");
        var configuration = new ConfigurationBuilder()
            .SetBasePath(_directory)
            .AddJsonFile("appsettings.json", optional: false)
            .AddJsonFile("appsettings.Production.json", optional: true)
            .AddInMemoryCollection([KeyValuePair.Create<string, string?>("Other", "1")])
            .Build();

        Assert.Equal([settings, Path.Combine(_directory, "appsettings.Production.json")], StandbyWatch.ConfigurationFiles(configuration));
        Assert.Equal(
            ["/etc/ssl/key.pem", Path.Combine(_directory, "cert.pem"), Path.Combine(_directory, "other.pfx")],
            StandbyWatch.KestrelFiles(configuration, _directory).Order());
    }

    [Theory]
    [InlineData("Hello.dll", true)]
    [InlineData("libe_sqlite3.so", true)]
    [InlineData("libssl.so.3", true)]
    [InlineData("Hello.runtimeconfig.json", true)]
    [InlineData("Hello.deps.json", true)]
    [InlineData("appsettings.json", false)]
    [InlineData("app.pid", false)]
    [InlineData("blog.db", false)]
    [InlineData("app.log", false)]
    public void App_files_are_its_assemblies_and_libraries_not_its_data(string name, bool isApp) =>
        Assert.Equal(isApp, StandbyWatch.IsAppFile(name));

    private string Write(string name, string text)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }
}
