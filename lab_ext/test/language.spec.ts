import { chooseLocale, followsBrowser } from '../src/language';

describe('chooseLocale', () => {
  const installed = ['en', 'ja_JP'];

  it('shows a Japanese browser JupyterLab in Japanese when the pack is installed', () => {
    expect(chooseLocale(['ja'], installed, 'en')).toBe('ja_JP');
    expect(chooseLocale(['ja-JP', 'en-US'], installed, 'en')).toBe('ja_JP');
  });

  it('changes nothing when Japanese is shown already (no reload loop)', () => {
    expect(chooseLocale(['ja-JP'], installed, 'ja-JP')).toBeNull();
  });

  it('leaves an English browser in English, also when it would read Japanese second', () => {
    expect(chooseLocale(['en-US', 'ja'], installed, 'en')).toBeNull();
  });

  it('takes the first preferred language that has a pack', () => {
    expect(chooseLocale(['ko-KR', 'ja-JP'], installed, 'en')).toBe('ja_JP');
    expect(chooseLocale(['fr-FR', 'de'], installed, 'en')).toBeNull();
    expect(chooseLocale([], installed, 'en')).toBeNull();
  });
});

describe('followsBrowser', () => {
  const settings = (user: { locale?: string }, adminDefault = 'default') => ({
    user,
    default: (key: string) => (key === 'locale' ? adminDefault : undefined)
  });

  it('follows the browser while nobody chose', () => {
    expect(followsBrowser(settings({}))).toBe(true);
    expect(followsBrowser(settings({ locale: 'default' }))).toBe(true);
  });

  it("keeps the person's choice and the language the administrator forced for everyone", () => {
    expect(followsBrowser(settings({ locale: 'en' }))).toBe(false);
    expect(followsBrowser(settings({}, 'ja_JP'))).toBe(false);
  });
});
