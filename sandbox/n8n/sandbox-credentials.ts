/**
 * Credential data that points our two credential types at the local sandboxes, filled in as a user
 * would fill in the credential forms (the host fields point at loopback; no special code path).
 */
import { SANDBOX_DEFAULTS } from '../defaults';

export interface SandboxCredentialData {
	dynamics365Api: Record<string, string>;
	adobeCampaignStandardApi: Record<string, string>;
}

/** Where the sandboxes listen (a running `Sandboxes` fits). */
export interface SandboxEndpoints {
	dataverse: { url: string; tenantId: string };
	campaign: { url: string; organizationId: string };
}

export function sandboxCredentialData(sandbox: SandboxEndpoints): SandboxCredentialData {
	const { dataverse, campaign } = SANDBOX_DEFAULTS;
	return {
		dynamics365Api: {
			environmentUrl: sandbox.dataverse.url,
			tenantId: sandbox.dataverse.tenantId,
			clientId: dataverse.clientId,
			clientSecret: dataverse.clientSecret,
			authorityHost: sandbox.dataverse.url,
		},
		adobeCampaignStandardApi: {
			organizationId: sandbox.campaign.organizationId,
			clientId: campaign.clientId,
			clientSecret: campaign.clientSecret,
			scopes: campaign.scopes,
			imsHost: sandbox.campaign.url,
			apiBaseUrl: sandbox.campaign.url,
		},
	};
}
