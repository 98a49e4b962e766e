import { campaignApiRoot } from '../../lib/campaign/auth';
import { CampaignClient } from '../../lib/campaign/client';
import { DataverseClient } from '../../lib/dynamics/client';
import { MetadataCache } from '../../lib/http/cache';
import type { AdaptiveConcurrency, AdaptiveConcurrencyState } from '../../lib/http/limiter';
import { n8nTransport, type N8nRequestContext } from '../../lib/http/n8n';
import type { HttpHooks } from '../../lib/http/hooks';
import { withRetry } from '../../lib/http/retry';

export const DYNAMICS_CREDENTIAL = 'dynamics365Api';
export const CAMPAIGN_CREDENTIAL = 'adobeCampaignStandardApi';
/** The labels of the two credential fields in a node's panel (n8n labels each "Credential"). */
export const DYNAMICS_CREDENTIAL_LABEL = 'Dynamics 365 Credential';
export const CAMPAIGN_CREDENTIAL_LABEL = 'Campaign Credential';

/** How long runs reuse metadata read by earlier runs in the same process. */
export const METADATA_TTL_MS = 15 * 60 * 1000;

/**
 * Metadata shared by the runs of this process (n8n's main process, or one queue-mode worker):
 * only a cache, see MetadataCache.
 */
const metadataCache = new MetadataCache({ ttlMs: METADATA_TTL_MS });

/**
 * The cache a context's clients use: the shared one for runs, none for the editor's dropdowns
 * (only load-options contexts have `getCurrentNodeParameters`), which show Dynamics and Campaign
 * as they are now.
 */
function metadataFor(
	ctx: N8nRequestContext,
	credentialType: string,
	base: string,
): { metadataCache?: MetadataCache; metadataScope?: string } {
	if ('getCurrentNodeParameters' in ctx) return {};
	// Entries are kept apart per credential, so one credential's reads never serve another's.
	const credentialId = ctx.getNode().credentials?.[credentialType]?.id ?? '';
	return { metadataCache, metadataScope: `${base} ${credentialType}:${credentialId}` };
}

/**
 * The concurrency Campaign Upsert's last runs in this process found per Campaign credential (the
 * credential names the instance, and whose requests count against its limits), so a run starts
 * where the previous one ended. Only a cache: a process without it starts low and finds it again.
 */
const learntConcurrency = new Map<string, { state: AdaptiveConcurrencyState; at: number }>();
const LEARNT_FOR_MS = 10 * 60 * 1000;
const LEARNT_ENTRIES = 100;

function campaignCredentialId(ctx: N8nRequestContext): string {
	return ctx.getNode().credentials?.[CAMPAIGN_CREDENTIAL]?.id ?? '';
}

export function learntCampaignConcurrency(
	ctx: N8nRequestContext,
): AdaptiveConcurrencyState | undefined {
	const found = learntConcurrency.get(campaignCredentialId(ctx));
	return found && Date.now() - found.at < LEARNT_FOR_MS ? found.state : undefined;
}

export function rememberCampaignConcurrency(
	ctx: N8nRequestContext,
	state: AdaptiveConcurrencyState,
): void {
	const key = campaignCredentialId(ctx);
	learntConcurrency.delete(key);
	learntConcurrency.set(key, { state, at: Date.now() });
	if (learntConcurrency.size > LEARNT_ENTRIES) {
		learntConcurrency.delete(learntConcurrency.keys().next().value!);
	}
}

/** Forgets what this process keeps across runs (tests whose services start over). */
export function clearProcessCaches(): void {
	metadataCache.clear();
	learntConcurrency.clear();
}

/**
 * The one place nodes get their service clients: n8n's authenticated request helper, with our
 * retry policy (429 with Retry-After, 5xx, resets) around it, and the process's metadata cache.
 */
export async function dataverseClient(
	ctx: N8nRequestContext,
	options: { maxPageSize?: number } = {},
): Promise<DataverseClient> {
	const credentials = await ctx.getCredentials(DYNAMICS_CREDENTIAL);
	const environmentUrl = String(credentials.environmentUrl ?? '');
	return new DataverseClient({
		transport: withRetry(n8nTransport(ctx, DYNAMICS_CREDENTIAL, { credentials })),
		environmentUrl,
		maxPageSize: options.maxPageSize,
		...metadataFor(ctx, DYNAMICS_CREDENTIAL, environmentUrl),
	});
}

/**
 * `hooks` see every attempt and retry (e.g. to count throttling answers); `concurrency` lets each
 * attempt through its gate and learns from the answers.
 */
export async function campaignClient(
	ctx: N8nRequestContext,
	hooks: HttpHooks = {},
	options: { concurrency?: AdaptiveConcurrency } = {},
): Promise<CampaignClient> {
	const credentials = await ctx.getCredentials(CAMPAIGN_CREDENTIAL);
	const apiBaseUrl = campaignApiRoot({
		apiBaseUrl: String(credentials.apiBaseUrl ?? ''),
		organizationId: String(credentials.organizationId ?? ''),
	});
	const transport = n8nTransport(ctx, CAMPAIGN_CREDENTIAL, { credentials });
	return new CampaignClient({
		transport: withRetry(options.concurrency?.wrap(transport) ?? transport, {}, hooks),
		apiBaseUrl,
		...metadataFor(ctx, CAMPAIGN_CREDENTIAL, apiBaseUrl),
	});
}
