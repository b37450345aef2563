import { useEffect, type ReactNode } from 'react';

/** Page is a page's frame: a header with title, subtitle and actions, then content. */
export function Page({
  title,
  subtitle,
  actions,
  children,
}: {
  title: ReactNode;
  subtitle?: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
}) {
  useEffect(() => {
    if (typeof title === 'string') document.title = `${title} · Portico`;
  }, [title]);
  return (
    <div className="page">
      <header className="page-header">
        <div>
          <h1>{title}</h1>
          {subtitle && <p className="page-subtitle">{subtitle}</p>}
        </div>
        {actions && <div className="page-actions">{actions}</div>}
      </header>
      <div className="page-content">{children}</div>
    </div>
  );
}

/** Card groups related content under a heading. */
export function Card({ title, actions, children, className }: { title?: ReactNode; actions?: ReactNode; children: ReactNode; className?: string }) {
  return (
    <section className={`card ${className ?? ''}`}>
      {(title || actions) && (
        <header className="card-header">
          {title && <h2>{title}</h2>}
          {actions}
        </header>
      )}
      <div className="card-body">{children}</div>
    </section>
  );
}

/** Chip is a small label (a tag, a kind, a status). */
export function Chip({ children, tone }: { children: ReactNode; tone?: 'info' | 'success' | 'warning' | 'danger' | 'neutral' }) {
  return <span className={`chip chip-${tone ?? 'neutral'}`}>{children}</span>;
}
