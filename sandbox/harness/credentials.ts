/** Our two credential types in the in-process engine, filled in for the sandboxes. */
import { AdobeCampaignStandardApi } from '../../credentials/AdobeCampaignStandardApi.credentials';
import { Dynamics365Api } from '../../credentials/Dynamics365Api.credentials';
import { SANDBOX_DEFAULTS } from '../defaults';
import { sandboxCredentialData } from '../n8n/sandbox-credentials';
import { TestCredentialsHelper } from './engine';

/** Both credentials filled in for the sandboxes at these URLs, as a user would fill them in. */
export function sandboxCredentials(urls: {
	dataverse: string;
	campaign: string;
}): TestCredentialsHelper {
	const credentials = new TestCredentialsHelper([
		new Dynamics365Api(),
		new AdobeCampaignStandardApi(),
	]);
	const data = sandboxCredentialData({
		dataverse: { url: urls.dataverse, tenantId: SANDBOX_DEFAULTS.dataverse.tenantId },
		campaign: { url: urls.campaign, organizationId: SANDBOX_DEFAULTS.campaign.organizationId },
	});
	credentials.setCredentials('dynamics365Api', data.dynamics365Api);
	credentials.setCredentials('adobeCampaignStandardApi', data.adobeCampaignStandardApi);
	return credentials;
}
