// Request by request around each SIGHUP: reads a server log written with microsecond timestamps (bench/handover-timeline.sh
// starts the server so), bench/timeline-client.cs's request log and the SIGHUP times, and prints, for each SIGHUP, the
// server's log lines from 5 ms before it to LOG_MS after it and every request that started from 20 ms before it to 200 ms
// after it and took longer than the run's median + 3 ms (one more tick of the kernel's coarse clock, where .NET's timers
// tick every 4 ms) - with a count and the ms they took beyond the median.
//
//   dotnet run bench/handover-timeline.cs -- SERVER.log REQUESTS.log SIGHUPS [LOG_MS (60)]
//
// SIGHUPS has one line per SIGHUP: µs since the epoch. REQUESTS.log: start (µs since the epoch), status, duration (µs).
using System.Globalization;
using System.Text.RegularExpressions;

var serverLog = File.ReadAllLines(args[0]);
var requests = File.ReadLines(args[1]).Select(line => line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)).Select(f => (Start: long.Parse(f[0], CultureInfo.InvariantCulture), Status: int.Parse(f[1], CultureInfo.InvariantCulture), Duration: long.Parse(f[2], CultureInfo.InvariantCulture))).ToList();
var sighups = File.ReadLines(args[2]).Where(l => l.Length > 0).Select(l => long.Parse(l, CultureInfo.InvariantCulture)).ToList();
var logMs = args.Length > 3 ? double.Parse(args[3], CultureInfo.InvariantCulture) : 60;

var durations = requests.Select(r => r.Duration).Order().ToArray();
var median = durations[durations.Length / 2];
var slowAbove = median + 3000;
Console.WriteLine($"{requests.Count} requests, {requests.Count(r => r.Status is < 200 or >= 400)} failed; p50 {median / 1000.0:F2} ms, p99 {durations[(int)(durations.Length * 0.99)] / 1000.0:F2} ms; slow: over {slowAbove / 1000.0:F2} ms");

// "HH:mm:ss.ffffff level: Category[id]" then the message on the next line (the console logger's simple format), UTC.
var header = new Regex(@"^(\d\d):(\d\d):(\d\d)\.(\d{6}) (\w+): (\S+)$");
var day = DateTime.UnixEpoch.AddTicks(sighups[0] * 10).Date;
var events = new List<(long At, string Text)>();
for (var i = 0; i + 1 < serverLog.Length; i++)
{
    var m = header.Match(serverLog[i]);
    if (m.Success)
    {
        var at = day.AddHours(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).AddMinutes(int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture))
            .AddSeconds(int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture)).AddTicks(int.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture) * 10);
        events.Add(((at - DateTime.UnixEpoch).Ticks / 10, serverLog[i + 1].Trim()));
    }
}

var totalSlow = 0;
long totalExtra = 0;
foreach (var sighup in sighups)
{
    Console.WriteLine();
    Console.WriteLine($"SIGHUP at {sighup} µs");
    foreach (var (at, text) in events.Where(e => e.At - sighup >= -5000 && e.At - sighup <= logMs * 1000).OrderBy(e => e.At))
    {
        Console.WriteLine($"  log {(at - sighup) / 1000.0,8:+0.00;-0.00} ms  {(text.Length > 140 ? text[..140] : text)}");
    }

    var window = requests.Where(r => r.Start - sighup >= -20_000 && r.Start - sighup <= 200_000).ToList();
    var slow = window.Where(r => r.Duration > slowAbove).OrderBy(r => r.Start).ToList();
    foreach (var r in slow)
    {
        Console.WriteLine($"  request started {(r.Start - sighup) / 1000.0,8:+0.00;-0.00} ms, answered {(r.Start + r.Duration - sighup) / 1000.0,8:+0.00;-0.00} ms: {r.Duration / 1000.0:F2} ms{(r.Status is < 200 or >= 400 ? $" FAILED ({r.Status})" : "")}");
    }

    var extra = slow.Sum(r => r.Duration - median);
    totalSlow += slow.Count;
    totalExtra += extra;
    Console.WriteLine($"  {window.Count} requests started from -20 to +200 ms; {slow.Count} slow, {extra / 1000.0:F0} ms beyond the median in all; the longest {(window.Count == 0 ? 0 : window.Max(r => r.Duration)) / 1000.0:F2} ms");
}

Console.WriteLine();
Console.WriteLine($"all {sighups.Count} SIGHUPs: {totalSlow} slow request(s), {totalExtra / 1000.0:F0} ms beyond the median");
