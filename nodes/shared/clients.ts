import type { IDataObject } from 'n8n-workflow';

import { campaignApiRoot } from '../../lib/campaign/auth';
import { CampaignClient } from '../../lib/campaign/client';
import { DataverseClient } from '../../lib/dynamics/client';
import { n8nTransport, type N8nRequestContext } from '../../lib/http/n8n';
import type { HttpHooks } from '../../lib/http/hooks';
import { withRetry } from '../../lib/http/retry';

export const DYNAMICS_CREDENTIAL = 'dynamics365Api';
export const CAMPAIGN_CREDENTIAL = 'adobeCampaignStandardApi';
/** The labels of the two credential fields in a node's panel (n8n labels each "Credential"). */
export const DYNAMICS_CREDENTIAL_LABEL = 'Dynamics 365 Credential';
export const CAMPAIGN_CREDENTIAL_LABEL = 'Campaign Credential';

/**
 * The one place nodes get their service clients: n8n's authenticated request helper, with our
 * retry policy (429 with Retry-After, 5xx, resets) around it.
 */
export async function dataverseClient(
	ctx: N8nRequestContext,
	options: { maxPageSize?: number } = {},
): Promise<DataverseClient> {
	const credentials = (await ctx.getCredentials(DYNAMICS_CREDENTIAL)) as IDataObject;
	return new DataverseClient({
		transport: withRetry(n8nTransport(ctx, DYNAMICS_CREDENTIAL)),
		environmentUrl: String(credentials.environmentUrl ?? ''),
		maxPageSize: options.maxPageSize,
	});
}

/** `hooks` see every attempt and retry (e.g. to count throttling answers). */
export async function campaignClient(
	ctx: N8nRequestContext,
	hooks: HttpHooks = {},
): Promise<CampaignClient> {
	const credentials = (await ctx.getCredentials(CAMPAIGN_CREDENTIAL)) as IDataObject;
	return new CampaignClient({
		transport: withRetry(n8nTransport(ctx, CAMPAIGN_CREDENTIAL), {}, hooks),
		apiBaseUrl: campaignApiRoot({
			apiBaseUrl: String(credentials.apiBaseUrl ?? ''),
			organizationId: String(credentials.organizationId ?? ''),
		}),
	});
}
