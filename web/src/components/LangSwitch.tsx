/** RU | EN: switches the interface language (kept in localStorage). */
import { useContext } from 'preact/hooks';
import { LANGS, t } from '../i18n';
import { LangContext } from '../session';

export function LangSwitch() {
  const { lang, setLang } = useContext(LangContext);
  return (
    <div class="segmented lang" role="group" aria-label={t('lang.label')}>
      {LANGS.map((l) => (
        <button key={l} type="button" class={l === lang ? 'on' : ''} aria-pressed={l === lang} data-lang={l} onClick={() => setLang(l)}>
          {l.toUpperCase()}
        </button>
      ))}
    </div>
  );
}

