import { useUnreadCount } from '../api/notifications';
import { useCanSeeAccess } from '../api/rbac';
import { Link, useLocation } from '../router';
import { Icon } from './Icons';
import { navItems } from '../routes';

/** Sidebar is the app's main navigation, with the unread notifications counter. */
export function Sidebar({ open, onNavigate }: { open: boolean; onNavigate: () => void }) {
  const { pathname } = useLocation();
  const unread = useUnreadCount();
  const admin = useCanSeeAccess();
  return (
    <nav className={`sidebar ${open ? 'sidebar-open' : ''}`} aria-label="Main">
      <Link to="/" className="brand" onClick={onNavigate}>
        <img src="/favicon.svg" alt="" width={28} height={28} />
        <span>Portico</span>
      </Link>
      <ul>
        {navItems.filter((item) => !item.adminOnly || admin).map((item) => {
          const active = item.path === '/' ? pathname === '/' : pathname === item.path || pathname.startsWith(item.path + '/');
          const isNotifications = item.path === '/notifications';
          const label = isNotifications && unread ? `${item.label}, ${unread} unread` : item.label;
          return (
            <li key={item.path}>
              <Link to={item.path} aria-current={active ? 'page' : undefined} aria-label={label} onClick={onNavigate}>
                <Icon name={item.icon} />
                <span className="nav-label">{item.label}</span>
                {isNotifications && unread ? (
                  <span className="badge" data-testid="unread-count" aria-hidden="true">
                    {unread > 99 ? '99+' : unread}
                  </span>
                ) : null}
              </Link>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
