import { ISettingRegistry } from '@jupyterlab/settingregistry';

/**
 * Apply a plugin's settings (its schema in ``lab_ext/schema/``) now and again on every change;
 * without a registry, or when they cannot be loaded, the models keep their defaults.
 */
export function followSettings(
  registry: ISettingRegistry | null,
  pluginId: string,
  apply: (settings: ISettingRegistry.ISettings) => void
): void {
  registry
    ?.load(pluginId)
    .then(settings => {
      apply(settings);
      settings.changed.connect(() => apply(settings));
    })
    .catch(reason => console.warn(`hybridhub: the settings of ${pluginId} could not be loaded`, reason));
}
