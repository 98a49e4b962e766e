/**
 * Fixed, documented defaults of the local sandbox. They are not secrets of any real service; every
 * value can be overridden with the environment variable named beside it.
 */
export const SANDBOX_DEFAULTS = {
	host: '127.0.0.1',
	dataverse: {
		/** DATAVERSE_SANDBOX_PORT */
		port: 7071,
		/** DATAVERSE_SANDBOX_TENANT_ID */
		tenantId: '11111111-2222-3333-4444-555555555555',
		/** DATAVERSE_SANDBOX_CLIENT_ID */
		clientId: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
		/** DATAVERSE_SANDBOX_CLIENT_SECRET */
		clientSecret: 'sandbox-dataverse-secret',
		/** DATAVERSE_SANDBOX_TOKEN_LIFETIME (seconds) */
		tokenLifetimeSeconds: 3599,
	},
	campaign: {
		/** CAMPAIGN_SANDBOX_PORT */
		port: 7072,
		/** CAMPAIGN_SANDBOX_ORG_ID */
		organizationId: 'sandbox-org',
		/** CAMPAIGN_SANDBOX_CLIENT_ID (also the X-Api-Key) */
		clientId: 'sandbox-campaign-client',
		/** CAMPAIGN_SANDBOX_CLIENT_SECRET */
		clientSecret: 'sandbox-campaign-secret',
		/** CAMPAIGN_SANDBOX_TOKEN_LIFETIME (seconds) */
		tokenLifetimeSeconds: 86399,
		scopes:
			'openid,AdobeID,campaign_sdk,additional_info.projectedProductContext,campaign_config_server_general,deliverability_service_general',
	},
} as const;
