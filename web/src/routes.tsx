// The app's sections. Each section is its own chunk (React.lazy), loaded
// when first visited, and matches its own sub-paths: a section's page gets
// the whole path and routes below its prefix itself (see matchPath).
//
// The Workflows (/workflows/...) and Create (/create/...) sections live in
// pages/workflows/ and pages/create/; their index.tsx default-exports the
// section component.
import { lazy, type ComponentType, type LazyExoticComponent } from 'react';

export interface Section {
  /** The path prefix: "/catalog" matches /catalog and /catalog/... */
  path: string;
  component: LazyExoticComponent<ComponentType>;
}

export const sections: Section[] = [
  { path: '/', component: lazy(() => import('./pages/home/HomePage')) },
  { path: '/catalog', component: lazy(() => import('./pages/catalog/CatalogSection')) },
  { path: '/create', component: lazy(() => import('./pages/create/index')) },
  { path: '/workflows', component: lazy(() => import('./pages/workflows/index')) },
  { path: '/notifications', component: lazy(() => import('./pages/notifications/NotificationsPage')) },
  { path: '/settings', component: lazy(() => import('./pages/settings/SettingsPage')) },
  { path: '/access', component: lazy(() => import('./pages/access/AccessPage')) },
];

export const NotFound = lazy(() => import('./pages/NotFoundPage'));

/** NavItem is a sidebar entry; adminOnly entries show only to those who may see the RBAC roles. */
export interface NavItem {
  path: string;
  label: string;
  icon: string;
  adminOnly?: boolean;
}

/** navItems are the sidebar's entries, in order. */
export const navItems: NavItem[] = [
  { path: '/', label: 'Home', icon: 'home' },
  { path: '/catalog', label: 'Catalog', icon: 'catalog' },
  { path: '/create', label: 'Create', icon: 'create' },
  { path: '/workflows', label: 'Workflows', icon: 'workflows' },
  { path: '/notifications', label: 'Notifications', icon: 'notifications' },
  { path: '/settings', label: 'Settings', icon: 'settings' },
  { path: '/access', label: 'Access', icon: 'access', adminOnly: true },
];

/** findSection returns the section serving pathname, if any. */
export function findSection(pathname: string): Section | undefined {
  const p = pathname.replace(/\/+$/, '') || '/';
  if (p === '/' || p === '/home') return sections[0];
  return sections.find((s) => s.path !== '/' && (p === s.path || p.startsWith(s.path + '/')));
}
