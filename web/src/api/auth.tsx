// Sign-in: the app asks /api/auth/providers which providers the server
// offers, signs in with the one the person picks (the guest provider's
// refresh route returns a Portico user token), remembers the choice, and
// refreshes the token before it expires.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { ApiClient, errorMessage } from './client';
import { SignalsClient } from './signals';

/** Identity is who is signed in. */
export interface Identity {
  userEntityRef: string;
  ownershipEntityRefs: string[];
  displayName?: string;
  provider: string;
}

interface Session {
  profile?: { displayName?: string; email?: string };
  backstageIdentity: {
    token: string;
    expiresInSeconds?: number;
    identity: { type: string; userEntityRef: string; ownershipEntityRefs: string[] };
  };
}

type AuthState =
  | { status: 'loading' }
  | { status: 'signed-out'; providers: string[]; error?: string }
  | { status: 'signed-in'; identity: Identity };

interface AuthValue {
  state: AuthState;
  api: ApiClient;
  signals: SignalsClient;
  signIn: (provider: string) => Promise<void>;
  signOut: () => void;
}

const AuthContext = createContext<AuthValue | null>(null);
const storageKey = 'portico.signInProvider';

function remembered(): string | null {
  try {
    return window.localStorage.getItem(storageKey);
  } catch {
    return null;
  }
}

function remember(provider: string | null) {
  try {
    if (provider) window.localStorage.setItem(storageKey, provider);
    else window.localStorage.removeItem(storageKey);
  } catch {
    // Storage may be disabled; the person signs in again next time.
  }
}

/** AuthProvider signs in and gives the app an API client with the token. */
export function AuthProvider({ children }: { children: ReactNode }) {
  const tokenRef = useRef<string | undefined>(undefined);
  const [state, setState] = useState<AuthState>({ status: 'loading' });
  const refreshTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const providersRef = useRef<string[]>([]);
  // The providers' environment to sign in with (auth.environment).
  const environmentRef = useRef('development');

  const api = useMemo(() => new ApiClient(() => tokenRef.current), []);
  const signals = useMemo(() => new SignalsClient(() => tokenRef.current), []);

  const refresh = useCallback(
    async (provider: string): Promise<void> => {
      const session = await api.get<Session>(`/api/auth/${encodeURIComponent(provider)}/refresh`, {
        query: { optional: 'true', env: 'development' },
      });
      const id = session.backstageIdentity;
      tokenRef.current = id.token;
      setState({
        status: 'signed-in',
        identity: {
          userEntityRef: id.identity.userEntityRef,
          ownershipEntityRefs: id.identity.ownershipEntityRefs ?? [],
          displayName: session.profile?.displayName,
          provider,
        },
      });
      if (refreshTimer.current) clearTimeout(refreshTimer.current);
      const seconds = id.expiresInSeconds ?? 3600;
      // Refresh at four fifths of the lifetime, at least a minute ahead.
      const delay = Math.max(10, Math.min(seconds * 0.8, seconds - 60)) * 1000;
      refreshTimer.current = setTimeout(() => {
        refresh(provider).catch(() => setState({ status: 'signed-out', providers: providersRef.current, error: 'Your session expired; sign in again.' }));
      }, delay);
    },
    [api],
  );

  useEffect(() => {
    let cancelled = false;
    (async () => {
      let providers: string[] = [];
      try {
        const res = await api.get<{ providers: string[]; environment?: string }>('/api/auth/providers');
        providers = res.providers ?? [];
        environmentRef.current = res.environment ?? 'development';
      } catch (e) {
        if (!cancelled) setState({ status: 'signed-out', providers: [], error: errorMessage(e) });
        return;
      }
      providersRef.current = providers;
      const last = remembered();
      if (last && providers.includes(last)) {
        try {
          await refresh(last);
          return;
        } catch {
          remember(null);
        }
      }
      if (!cancelled) setState({ status: 'signed-out', providers });
    })();
    return () => {
      cancelled = true;
    };
  }, [api, refresh]);

  useEffect(
    () => () => {
      if (refreshTimer.current) clearTimeout(refreshTimer.current);
      signals.close();
    },
    [signals],
  );

  const signIn = useCallback(
    async (provider: string) => {
      try {
        // The guest provider signs in at once; others go through their
        // sign-in pop-up first, which sets the provider's session cookie.
        if (provider !== 'guest') await popupSignIn(provider, environmentRef.current);
        await refresh(provider);
        remember(provider);
      } catch (e) {
        setState({ status: 'signed-out', providers: providersRef.current, error: errorMessage(e) });
      }
    },
    [refresh],
  );

  const signOut = useCallback(() => {
    const provider = state.status === 'signed-in' ? state.identity.provider : '';
    remember(null);
    tokenRef.current = undefined;
    if (refreshTimer.current) clearTimeout(refreshTimer.current);
    if (provider) api.post(`/api/auth/${encodeURIComponent(provider)}/logout`).catch(() => undefined);
    setState({ status: 'signed-out', providers: providersRef.current });
  }, [api, state]);

  const value = useMemo(() => ({ state, api, signals, signIn, signOut }), [state, api, signals, signIn, signOut]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

/**
 * popupSignIn runs a provider's sign-in pop-up (/api/auth/<provider>/start)
 * and resolves when its frame posts the authorization response back, as
 * Backstage's providers do.
 */
function popupSignIn(provider: string, env: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const origin = window.location.origin;
    const url = `/api/auth/${encodeURIComponent(provider)}/start?scope=&origin=${encodeURIComponent(origin)}&flow=popup&env=${encodeURIComponent(env)}`;
    const popup = window.open(url, 'portico-sign-in', 'width=500,height=700');
    if (!popup) {
      reject(new Error('The sign-in window was blocked; allow pop-ups for this site and try again.'));
      return;
    }
    const done = (err?: Error) => {
      window.removeEventListener('message', onMessage);
      clearInterval(closedTimer);
      if (err) reject(err);
      else resolve();
    };
    const onMessage = (ev: MessageEvent) => {
      if (ev.origin !== origin || !ev.data || ev.data.type !== 'authorization_response') return;
      if (ev.data.error) done(new Error(ev.data.error.message ?? 'Sign-in failed'));
      else done();
    };
    window.addEventListener('message', onMessage);
    const closedTimer = setInterval(() => {
      if (popup.closed) done(new Error('The sign-in window was closed before signing in.'));
    }, 500);
  });
}

function useAuthValue(): AuthValue {
  const v = useContext(AuthContext);
  if (!v) throw new Error('no <AuthProvider> above this component');
  return v;
}

/** useApi returns the API client carrying the signed-in user's token. */
export function useApi(): ApiClient {
  return useAuthValue().api;
}

/** useSignals returns the live-update client. */
export function useSignals(): SignalsClient {
  return useAuthValue().signals;
}

/** useAuth returns the sign-in state and actions. */
export function useAuth() {
  return useAuthValue();
}

/** useIdentity returns who is signed in (only valid inside the signed-in app). */
export function useIdentity(): Identity {
  const { state } = useAuthValue();
  if (state.status !== 'signed-in') throw new Error('useIdentity: not signed in');
  return state.identity;
}

/** AuthTestProvider gives components under test an API client and an identity without signing in. */
export function AuthTestProvider({ children, api, identity }: { children: ReactNode; api?: ApiClient; identity?: Partial<Identity> }) {
  const value = useMemo<AuthValue>(() => {
    const client = api ?? new ApiClient(() => 'test-token', 'http://portico.test');
    return {
      state: {
        status: 'signed-in',
        identity: { userEntityRef: 'user:development/guest', ownershipEntityRefs: ['user:development/guest'], provider: 'guest', ...identity },
      },
      api: client,
      signals: new SignalsClient(() => 'test-token', 'ws://portico.test/api/signals'),
      signIn: async () => undefined,
      signOut: () => undefined,
    };
  }, [api, identity]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}
