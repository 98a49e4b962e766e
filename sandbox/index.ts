/** Starts both sandboxes (Dataverse and Adobe Campaign Standard) together. */
import {
	startCampaignSandbox,
	type CampaignSandbox,
	type CampaignSandboxOptions,
} from './campaign';
import {
	startDataverseSandbox,
	type DataverseSandbox,
	type DataverseSandboxOptions,
} from './dataverse';

export interface SandboxOptions {
	dataverse?: DataverseSandboxOptions;
	campaign?: CampaignSandboxOptions;
}

export interface Sandboxes {
	dataverse: DataverseSandbox;
	campaign: CampaignSandbox;
	close(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandboxes> {
	const dataverse = await startDataverseSandbox(options.dataverse);
	let campaign: CampaignSandbox;
	try {
		campaign = await startCampaignSandbox(options.campaign);
	} catch (error) {
		// Never leave the first server listening when the second cannot start (e.g. port in use).
		await dataverse.close();
		throw error;
	}
	return {
		dataverse,
		campaign,
		async close() {
			await Promise.all([dataverse.close(), campaign.close()]);
		},
	};
}

export { startCampaignSandbox, startDataverseSandbox };
export type { CampaignSandbox, CampaignSandboxOptions, DataverseSandbox, DataverseSandboxOptions };
