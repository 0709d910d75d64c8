import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

/** JupyterLab's own language setting (Settings → Language writes it). */
const TRANSLATION_SETTINGS = '@jupyterlab/translation-extension:plugin';
/** Set before the one reload, so that a setting that does not take never reloads in a loop. */
const TRIED_KEY = 'hybridhub:language-tried';

/**
 * The installed language pack to show for the browser's languages (``navigator.languages``,
 * most preferred first), or null to leave JupyterLab as it is: when no pack matches, when the
 * best match is what is shown already (``shown``: the page's ``lang``), or when the best match
 * is English (JupyterLab's own, no pack needed).
 */
export function chooseLocale(browserLanguages: readonly string[], installed: readonly string[], shown: string): string | null {
  const normal = (tag: string) => tag.replace('-', '_').toLowerCase();
  for (const language of browserLanguages) {
    const wanted = normal(language);
    const base = wanted.split('_')[0];
    if (base === 'en') {
      return null;
    }
    const match =
      installed.find(locale => normal(locale) === wanted) ?? installed.find(locale => normal(locale).split('_')[0] === base);
    if (match) {
      return normal(match) === normal(shown) ? null : match;
    }
  }
  return null;
}

/**
 * True while nobody chose JupyterLab's language: not the person (Settings → Language writes the
 * user setting) and not the administrator (JupyterLab's ``overrides.json`` — e.g. in the
 * single-user image's ``share/jupyter/lab/settings/`` — changes the default for everyone).
 */
export function followsBrowser(settings: Pick<ISettingRegistry.ISettings, 'user' | 'default'>): boolean {
  const chosenByPerson = settings.user.locale !== undefined && settings.user.locale !== 'default';
  const forcedByAdmin = (settings.default('locale') ?? 'default') !== 'default';
  return !chosenByPerson && !forcedByAdmin;
}

async function installedLocales(): Promise<string[]> {
  const settings = ServerConnection.makeSettings();
  const response = await ServerConnection.makeRequest(URLExt.join(settings.baseUrl, 'lab/api/translations'), {}, settings);
  if (!response.ok) {
    return [];
  }
  const body = await response.json();
  return Object.keys(body?.data ?? {});
}

/**
 * A Japanese browser gets JupyterLab in Japanese on the first visit, as the hub's pages already
 * are, without a trip to Settings → Language: while nobody chose a language, the browser's
 * language is chosen if a language pack for it is installed, and the page reloads once (as
 * JupyterLab itself does after a language change). A language chosen in the settings, or forced
 * for everyone by the administrator, always wins.
 */
export const languagePlugin: JupyterFrontEndPlugin<void> = {
  id: 'hybridhub:language',
  description: "hybridhub: JupyterLab in the browser's language when nobody chose one.",
  autoStart: true,
  requires: [ISettingRegistry],
  activate: async (app: JupyterFrontEnd, registry: ISettingRegistry) => {
    try {
      const settings = await registry.load(TRANSLATION_SETTINGS);
      if (!followsBrowser(settings) || window.sessionStorage.getItem(TRIED_KEY)) {
        return;
      }
      const locale = chooseLocale(navigator.languages ?? [navigator.language], await installedLocales(), document.documentElement.lang);
      if (locale) {
        window.sessionStorage.setItem(TRIED_KEY, locale);
        await settings.set('locale', locale);
        window.location.reload();
      }
    } catch (reason) {
      console.warn("hybridhub: JupyterLab's language could not follow the browser's", reason);
    }
  }
};
