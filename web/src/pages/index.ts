/**
 * Every page of the app, and which roles see it. The navigation is built from this list, in
 * this order; a role's first page is its home. To add a page: write `pages/<id>.tsx` with a
 * default export and add a line here. Pages load on demand (their own chunk), so a manager's
 * browser never downloads the marketer's charts.
 *
 * Hiding a page is a convenience, not the control: every API a page calls checks the role on
 * the server (platform/http/app.ts, `config.roles`).
 */
import type { ComponentType } from 'preact';
import type { Key } from '../i18n';
import type { Role } from '../session';

export interface PageProps {
  /** The route after the page id, e.g. `queues` in `#/config/queues`. */
  rest: string;
}

export interface PageDef {
  id: string;
  title: Key;
  roles: readonly Role[];
  /** false: reached from links only (a client card), not listed in the top navigation. */
  nav?: false;
  load(): Promise<{ default: ComponentType<PageProps> }>;
}

export const PAGES: readonly PageDef[] = [
  { id: 'panel', title: 'nav.panel', roles: ['manager'], load: () => import('./panel') },
  { id: 'funnel', title: 'nav.funnel', roles: ['sales_head'], load: () => import('./funnel') },
  { id: 'managers', title: 'nav.managers', roles: ['sales_head'], load: () => import('./managers') },
  { id: 'calls', title: 'nav.calls', roles: ['sales_head', 'manager'], load: () => import('./calls') },
  { id: 'wallboard', title: 'nav.wallboard', roles: ['sales_head'], load: () => import('./wallboard') },
  { id: 'channels', title: 'nav.channels', roles: ['marketer'], load: () => import('./channels') },
  { id: 'config', title: 'nav.config', roles: ['admin'], load: () => import('./config') },
  { id: 'crm', title: 'nav.crm', roles: ['manager', 'sales_head', 'admin'], nav: false, load: () => import('./crm') },
];

export function pagesFor(role: Role): PageDef[] {
  return PAGES.filter((p) => p.roles.includes(role));
}
