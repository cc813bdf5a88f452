/**
 * The frame every signed-in page sits in: top bar (brand, the role's pages, language, the
 * user, sign out) and the current page, loaded on demand.
 */
import type { ComponentType } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { LangSwitch } from './components/LangSwitch';
import { ErrorBox, Loading } from './components/State';
import { getLang, t, tMaybe } from './i18n';
import { pagesFor, type PageDef, type PageProps } from './pages';
import { useRoute } from './router';
import { useSession } from './session';

const loaded = new Map<string, ComponentType<PageProps>>();

function LazyPage(props: { page: PageDef; rest: string }) {
  const [Comp, setComp] = useState<ComponentType<PageProps> | null>(() => loaded.get(props.page.id) ?? null);
  const [failed, setFailed] = useState<string | null>(null);
  useEffect(() => {
    const have = loaded.get(props.page.id);
    if (have) return setComp(() => have);
    setComp(null);
    let live = true;
    props.page.load().then(
      (m) => {
        loaded.set(props.page.id, m.default);
        if (live) setComp(() => m.default);
      },
      (e: Error) => live && setFailed(e.message),
    );
    return () => {
      live = false;
    };
  }, [props.page]);
  if (failed) return <ErrorBox message={failed} />;
  return Comp ? <Comp rest={props.rest} /> : <Loading />;
}

export function Shell() {
  const { me, logout } = useSession();
  const route = useRoute();
  const pages = useMemo(() => pagesFor(me.role), [me.role]);
  const nav = useMemo(() => pages.filter((p) => p.nav !== false), [pages]);
  const page = pages.find((p) => p.id === route.page);

  useEffect(() => {
    // An unknown page, or one of another role, lands on this role's home page.
    if (!page && nav[0]) window.location.replace(`#/${nav[0].id}`);
  }, [page, nav]);

  return (
    <div class="app" data-role={me.role} data-lang={getLang()}>
      <header class="topbar">
        <a class="brand" href={`#/${nav[0]?.id ?? ''}`}>
          <span class="brand-mark" aria-hidden="true" />
          callpulse
        </a>
        <nav class="nav" aria-label={t('nav.label')}>
          {nav.map((p) => (
            <a key={p.id} href={`#/${p.id}`} data-page={p.id} class={p.id === page?.id ? 'on' : ''} aria-current={p.id === page?.id ? 'page' : undefined}>
              {t(p.title)}
            </a>
          ))}
        </nav>
        <div class="topbar-right">
          <LangSwitch />
          <div class="user" data-testid="user">
            <span class="user-name">{me.name}</span>
            <span class="user-role">{tMaybe(`role.${me.role}`, me.role)}</span>
          </div>
          <button type="button" class="btn btn-topbar" onClick={logout} data-testid="logout">
            {t('auth.logout')}
          </button>
        </div>
      </header>
      <main class="main">{page ? <LazyPage key={page.id} page={page} rest={route.rest} /> : <Loading />}</main>
    </div>
  );
}
