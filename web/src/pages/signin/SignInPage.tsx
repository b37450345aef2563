import { useState } from 'react';
import { useAuth } from '../../api/auth';
import { InlineError } from '../../components/States';

const providerLabels: Record<string, { title: string; description: string }> = {
  guest: { title: 'Guest', description: 'Enter as a guest user. Meant for development and trying Portico out.' },
  oidc: { title: 'Single sign-on', description: "Sign in with your organization's identity provider (OpenID Connect)." },
  github: { title: 'GitHub', description: 'Sign in with your GitHub account.' },
  gitlab: { title: 'GitLab', description: 'Sign in with your GitLab account.' },
};

/** SignInPage offers the sign-in providers the server lists. */
export function SignInPage() {
  const { state, signIn } = useAuth();
  const [busy, setBusy] = useState<string | null>(null);
  if (state.status !== 'signed-out') return null;
  return (
    <main className="signin" id="main">
      <div className="signin-box">
        <div className="brand brand-large">
          <img src="/favicon.svg" alt="" width={40} height={40} />
          <h1>Portico</h1>
        </div>
        <p className="muted">Sign in to the developer portal.</p>
        <InlineError error={state.error} />
        {state.providers.length === 0 && !state.error && (
          <p>No sign-in provider is configured on this server. Configure one under <code>auth.providers</code>.</p>
        )}
        <ul className="signin-providers">
          {state.providers.map((p) => (
            <li key={p} className="card">
              <h2>{providerLabels[p]?.title ?? p}</h2>
              <p className="muted">{providerLabels[p]?.description ?? `Sign in with ${p}.`}</p>
              <button
                type="button"
                className="btn btn-primary"
                disabled={busy !== null}
                onClick={async () => {
                  setBusy(p);
                  await signIn(p);
                  setBusy(null);
                }}
              >
                {busy === p ? 'Signing in…' : 'Enter'}
              </button>
            </li>
          ))}
        </ul>
      </div>
    </main>
  );
}
