import { Component, Suspense, useEffect, useRef, useState, type ErrorInfo, type ReactNode } from 'react';
import { AuthProvider, useAuth } from './api/auth';
import { Sidebar } from './components/Sidebar';
import { ErrorPanel, Loading } from './components/States';
import { Icon } from './components/Icons';
import { ThemeProvider } from './hooks/useTheme';
import { SignInPage } from './pages/signin/SignInPage';
import { Router, useLocation } from './router';
import { findSection, NotFound } from './routes';

/** ErrorBoundary keeps a page's crash inside the page, with its message. */
class ErrorBoundary extends Component<{ children: ReactNode; resetKey: string }, { error: unknown; key: string }> {
  state = { error: undefined as unknown, key: this.props.resetKey };
  static getDerivedStateFromError(error: unknown) {
    return { error };
  }
  static getDerivedStateFromProps(props: { resetKey: string }, state: { error: unknown; key: string }) {
    return props.resetKey !== state.key ? { error: undefined, key: props.resetKey } : null;
  }
  componentDidCatch(error: unknown, info: ErrorInfo) {
    console.error('page failed', error, info.componentStack);
  }
  render() {
    if (this.state.error) {
      return (
        <div className="page">
          <ErrorPanel title="This page failed" error={this.state.error} onRetry={() => window.location.reload()} />
        </div>
      );
    }
    return this.props.children;
  }
}

function Content() {
  const { pathname } = useLocation();
  const first = useRef(true);
  // After moving to another page, put keyboard and screen-reader focus at
  // the start of the new content (not on the first load).
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    document.getElementById('main')?.focus({ preventScroll: true });
  }, [pathname]);
  const section = findSection(pathname);
  const Page = section?.component ?? NotFound;
  return (
    <ErrorBoundary resetKey={pathname}>
      <Suspense fallback={<Loading />}>
        <Page />
      </Suspense>
    </ErrorBoundary>
  );
}

function Shell() {
  const { state } = useAuth();
  const [menuOpen, setMenuOpen] = useState(false);
  if (state.status === 'loading') return <Loading label="Signing in…" />;
  if (state.status === 'signed-out') return <SignInPage />;
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <button type="button" className="menu-button" aria-label="Menu" aria-expanded={menuOpen} onClick={() => setMenuOpen((o) => !o)}>
        <Icon name="menu" />
      </button>
      <Sidebar open={menuOpen} onNavigate={() => setMenuOpen(false)} />
      <main id="main" tabIndex={-1}>
        <Content />
      </main>
    </div>
  );
}

/** App is the whole web UI. */
export function App() {
  return (
    <ThemeProvider>
      <Router>
        <AuthProvider>
          <Shell />
        </AuthProvider>
      </Router>
    </ThemeProvider>
  );
}
