// Types and calls of the notifications API (/api/notifications), which is
// Backstage's.
import { useEffect, useState } from 'react';
import { useApi, useSignals } from './auth';
import type { ApiClient } from './client';

export type Severity = 'critical' | 'high' | 'normal' | 'low';

export interface NotificationPayload {
  title: string;
  description?: string;
  link?: string;
  severity?: Severity;
  topic?: string;
  scope?: string;
  icon?: string;
}

export interface Notification {
  id: string;
  created: string;
  updated?: string | null;
  read?: string | null;
  saved?: string | null;
  origin: string;
  payload: NotificationPayload;
  user?: string | null;
}

export interface NotificationList {
  totalCount: number;
  notifications: Notification[];
}

export interface NotificationStatus {
  unread: number;
  read: number;
}

export interface TopicSetting {
  id: string;
  enabled: boolean;
}
export interface OriginSetting {
  id: string;
  enabled: boolean;
  topics?: TopicSetting[];
}
export interface ChannelSetting {
  id: string;
  enabled?: boolean;
  origins: OriginSetting[];
}
export interface NotificationSettings {
  channels: ChannelSetting[];
}

/** The signals channel on which the server announces notification changes. */
export const notificationsChannel = 'notifications';

export interface ListQuery {
  read?: boolean;
  saved?: boolean;
  minimumSeverity?: Severity;
  topic?: string;
  search?: string;
  offset?: number;
  limit?: number;
  orderField?: string;
}

export function listNotifications(api: ApiClient, q: ListQuery, signal?: AbortSignal): Promise<NotificationList> {
  return api.get<NotificationList>('/api/notifications/notifications', {
    signal,
    query: {
      read: q.read === undefined ? undefined : String(q.read),
      saved: q.saved === undefined ? undefined : String(q.saved),
      minimumSeverity: q.minimumSeverity,
      topic: q.topic,
      search: q.search,
      offset: q.offset,
      limit: q.limit,
      orderField: q.orderField ?? 'created,desc',
    },
  });
}

export function notificationStatus(api: ApiClient, signal?: AbortSignal): Promise<NotificationStatus> {
  return api.get<NotificationStatus>('/api/notifications/status', { signal });
}

export function notificationTopics(api: ApiClient, signal?: AbortSignal): Promise<{ topics: string[] }> {
  return api.get<{ topics: string[] }>('/api/notifications/topics', { signal });
}

/** updateNotifications marks notifications read/unread and saved/unsaved. */
export function updateNotifications(api: ApiClient, ids: string[], change: { read?: boolean; saved?: boolean }): Promise<Notification[]> {
  return api.post<Notification[]>('/api/notifications/update', { ids, ...change });
}

export function getSettings(api: ApiClient, signal?: AbortSignal): Promise<NotificationSettings> {
  return api.get<NotificationSettings>('/api/notifications/settings', { signal });
}

export function saveSettings(api: ApiClient, settings: NotificationSettings): Promise<NotificationSettings> {
  return api.post<NotificationSettings>('/api/notifications/settings', settings);
}

/**
 * useNotificationSignal calls onChange whenever the server announces a new
 * or changed notification for this user (and after a reconnect).
 */
export function useNotificationSignal(onChange: (message: unknown) => void): void {
  const signals = useSignals();
  useEffect(() => {
    const unsubscribe = signals.subscribe(notificationsChannel, onChange);
    const stopReconnect = signals.onReconnect(() => onChange(undefined));
    return () => {
      unsubscribe();
      stopReconnect();
    };
  }, [signals, onChange]);
}

/** useUnreadCount is the number of unread notifications, kept live. */
export function useUnreadCount(): number | undefined {
  const api = useApi();
  const [count, setCount] = useState<number | undefined>(undefined);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ctrl = new AbortController();
    notificationStatus(api, ctrl.signal).then(
      (s) => setCount(s.unread),
      () => undefined,
    );
    return () => ctrl.abort();
  }, [api, tick]);
  const [onChange] = useState(() => () => setTick((t) => t + 1));
  useNotificationSignal(onChange);
  return count;
}
