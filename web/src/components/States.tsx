// Loading, empty and error states: every page shows one of these instead of
// a blank area while data is missing.
import type { ReactNode } from 'react';
import { ApiError, errorMessage } from '../api/client';

/** Loading shows that something is on its way. */
export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      <span>{label}</span>
    </div>
  );
}

/** EmptyState says that there is nothing to show, and what to do about it. */
export function EmptyState({ title, children, action }: { title: string; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="state state-empty" role="status">
      <p className="state-title">{title}</p>
      {children && <div className="state-body">{children}</div>}
      {action && <div className="state-action">{action}</div>}
    </div>
  );
}

/** ErrorPanel shows a failed call with the server's message and a retry button. */
export function ErrorPanel({ error, title, onRetry }: { error: unknown; title?: string; onRetry?: () => void }) {
  const name = error instanceof ApiError ? error.name : undefined;
  const status = error instanceof ApiError && error.status ? error.status : undefined;
  return (
    <div className="state state-error" role="alert">
      <p className="state-title">{title ?? 'Something went wrong'}</p>
      <p className="state-body">
        {name && name !== 'Error' && <strong>{name}: </strong>}
        {errorMessage(error)}
        {status ? <span className="muted"> (HTTP {status})</span> : null}
      </p>
      {onRetry && (
        <button type="button" className="btn" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** InlineError is a one-line error next to a control. */
export function InlineError({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p className="inline-error" role="alert">
      {errorMessage(error)}
    </p>
  );
}
