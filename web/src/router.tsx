// A small client-side router over the History API: the app has a handful of
// sections, each of which matches its own sub-paths, so a full routing
// library would add weight and little else.
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useState,
  type AnchorHTMLAttributes,
  type MouseEvent,
  type ReactNode,
} from 'react';

/** Where the app is: the path and the query string's parameters. */
export interface Location {
  pathname: string;
  search: string;
  query: URLSearchParams;
}

interface RouterValue {
  location: Location;
  navigate: (to: string, options?: { replace?: boolean }) => void;
}

const RouterContext = createContext<RouterValue | null>(null);

function readLocation(): Location {
  const { pathname, search } = window.location;
  return { pathname, search, query: new URLSearchParams(search) };
}

/** Router provides the current location and navigation to the app. */
export function Router({ children }: { children: ReactNode }) {
  const [location, setLocation] = useState<Location>(readLocation);

  useEffect(() => {
    const onPop = () => setLocation(readLocation());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  const navigate = useCallback((to: string, options?: { replace?: boolean }) => {
    const url = new URL(to, window.location.href);
    const next = url.pathname + url.search + url.hash;
    if (next === window.location.pathname + window.location.search + window.location.hash) return;
    if (options?.replace) window.history.replaceState(null, '', next);
    else window.history.pushState(null, '', next);
    setLocation(readLocation());
    if (!options?.replace) window.scrollTo?.(0, 0);
  }, []);

  const value = useMemo(() => ({ location, navigate }), [location, navigate]);
  return <RouterContext.Provider value={value}>{children}</RouterContext.Provider>;
}

function useRouter(): RouterValue {
  const value = useContext(RouterContext);
  if (!value) throw new Error('useRouter: no <Router> above this component');
  return value;
}

/** useLocation returns the current location. */
export function useLocation(): Location {
  return useRouter().location;
}

/** useNavigate returns a function that moves to another path. */
export function useNavigate(): RouterValue['navigate'] {
  return useRouter().navigate;
}

/**
 * useQueryState keeps one query string parameter as state, so that filters
 * survive a reload and can be shared as a link.
 */
export function useQueryParams(): [URLSearchParams, (update: Record<string, string | string[] | null>) => void] {
  const { location, navigate } = useRouter();
  const set = useCallback(
    (update: Record<string, string | string[] | null>) => {
      const next = new URLSearchParams(window.location.search);
      for (const [key, value] of Object.entries(update)) {
        next.delete(key);
        if (value === null) continue;
        for (const v of Array.isArray(value) ? value : [value]) if (v !== '') next.append(key, v);
      }
      const qs = next.toString();
      navigate(window.location.pathname + (qs ? `?${qs}` : ''), { replace: true });
    },
    [navigate],
  );
  return [location.query, set];
}

/**
 * matchPath matches a pattern such as "/catalog/:namespace/:kind/:name"
 * against a path. A trailing "/*" matches any rest, given as params["*"].
 * Parameters are URI-decoded. It returns null when the path does not match.
 */
export function matchPath(pattern: string, pathname: string): Record<string, string> | null {
  const patternParts = pattern.split('/').filter(Boolean);
  const pathParts = pathname.split('/').filter(Boolean);
  const params: Record<string, string> = {};
  for (let i = 0; i < patternParts.length; i++) {
    const p = patternParts[i];
    if (p === '*') {
      params['*'] = pathParts.slice(i).map(safeDecode).join('/');
      return params;
    }
    const part = pathParts[i];
    if (part === undefined) return null;
    if (p.startsWith(':')) params[p.slice(1)] = safeDecode(part);
    else if (p !== part) return null;
  }
  return pathParts.length === patternParts.length ? params : null;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Link is an anchor that navigates inside the app without a reload. */
export function Link({ to, onClick, children, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }) {
  const navigate = useNavigate();
  const handle = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    if (rest.target && rest.target !== '_self') return;
    e.preventDefault();
    navigate(to);
  };
  return (
    <a href={to} onClick={handle} {...rest}>
      {children}
    </a>
  );
}
