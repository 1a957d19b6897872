using System.Data.Common;
using Blog.Data;

namespace Blog.Auth;

/// <summary>
/// Checks a username and password against <c>blog_auth</c>. A stored hash made with fewer PBKDF2 iterations than
/// <see cref="PasswordHasher.DefaultIterations"/> is replaced on the user's next successful login (the only moment the
/// password is known), so raising the work factor upgrades every active user without a reset.
/// </summary>
internal sealed class Logins(BlogStore store, ILogger<Logins> logger)
{
    /// <summary>The user's name when the password matches; null otherwise (unknown user or wrong password).</summary>
    public async Task<string?> CheckAsync(string username, string password, CancellationToken cancellationToken)
    {
        var user = await store.FindUserAsync(username, cancellationToken);
        if (user is null)
        {
            PasswordHasher.VerifyDecoy(password);
            BlogLog.LoginRefused(logger, username);
            return null;
        }

        if (!PasswordHasher.Verify(password, user.PasswordHash))
        {
            BlogLog.LoginRefused(logger, username);
            return null;
        }

        if (PasswordHasher.NeedsRehash(user.PasswordHash, out var iterations))
        {
            await UpgradeAsync(user, password, iterations, cancellationToken);
        }

        return user.Username;
    }

    private async Task UpgradeAsync(User user, string password, int iterations, CancellationToken cancellationToken)
    {
        try
        {
            // Only over the hash that was verified: a password changed meanwhile is not overwritten.
            if (await store.ReplacePasswordHashAsync(user.Id, user.PasswordHash, PasswordHasher.Hash(password), cancellationToken))
            {
                BlogLog.PasswordHashUpgraded(logger, user.Username, iterations, PasswordHasher.DefaultIterations);
            }
        }
        catch (DbException ex)
        {
            // The login itself succeeded; the upgrade is tried again on the next one.
            BlogLog.PasswordHashUpgradeFailed(logger, user.Username, ex.Message);
        }
    }
}
