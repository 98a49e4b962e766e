/**
 * The email event resources of the Campaign sandbox, as docs/CAMPAIGN-SETUP.md has a Campaign
 * administrator build them: the custom resource `cusEmailEvent` (linked to the profile, an
 * identification key on `eventId`, audit fields, a filter on its modification date and one on its
 * key), and Campaign's own delivery and tracking logs that a workflow reads to fill it. The logs
 * are no REST resources: Adobe's API pages list none that pages through them.
 */
import type { FieldDefinition, ResourceDefinition } from './schema';

export const EMAIL_EVENT_RESOURCE = 'cusEmailEvent';
export const DELIVERY_LOGS = 'broadLogRcp';
export const TRACKING_LOGS = 'trackingLogRcp';
export const EMAIL_EVENT_TYPES = ['send', 'open', 'click', 'bounce'] as const;

const profileLink: FieldDefinition = {
	name: 'profile',
	type: 'link',
	label: 'Profile',
	target: 'profile',
};

export function emailEventResources(): ResourceDefinition[] {
	return [
		{
			name: EMAIL_EVENT_RESOURCE,
			label: 'Email events',
			fields: [
				// The identification key (CS configuring-the-resource-s-data-structure.md).
				{ name: 'eventId', type: 'string', label: 'Event ID', length: 64, unique: true },
				{
					name: 'type',
					type: 'enumeration',
					label: 'Event type',
					values: [...EMAIL_EVENT_TYPES],
				},
				profileLink,
				// The profile's externalId, copied by the workflow so that readers need not read profiles.
				{ name: 'profileExternalId', type: 'string', label: 'Profile external ID', length: 100 },
				{ name: 'campaignId', type: 'string', label: 'Campaign ID', length: 64 },
				{ name: 'campaignName', type: 'string', label: 'Campaign name', length: 255 },
				{ name: 'deliveryId', type: 'string', label: 'Delivery ID', length: 64 },
				{ name: 'deliveryName', type: 'string', label: 'Delivery name', length: 255 },
				{ name: 'date', type: 'datetime', label: 'Event date' },
				{ name: 'mirrorPageUrl', type: 'string', label: 'Mirror page URL', length: 1024 },
				{ name: 'clickedUrl', type: 'string', label: 'Clicked URL', length: 1024 },
			],
			filters: [
				// "Greater than or equal to" on the audit field lastModified, switched to a parameter.
				{
					name: 'byModifiedSince',
					operator: 'greaterOrEqual',
					field: 'lastModified',
					param: 'modifiedSince_parameter',
					label: 'Modified since',
				},
				// "Equal" on the identification key (CS uc-calling-resource-id-key.md).
				{ name: 'byEventId', field: 'eventId', label: 'By event ID' },
			],
		},
		{
			name: DELIVERY_LOGS,
			label: 'Delivery logs',
			internal: true,
			fields: [
				{ name: 'logId', type: 'long', label: 'Delivery log ID', unique: true },
				profileLink,
				{ name: 'campaignId', type: 'string', label: 'Campaign ID', length: 64 },
				{ name: 'campaignLabel', type: 'string', label: 'Campaign', length: 255 },
				{ name: 'deliveryId', type: 'string', label: 'Delivery ID', length: 64 },
				{ name: 'deliveryLabel', type: 'string', label: 'Delivery', length: 255 },
				{ name: 'contactDate', type: 'datetime', label: 'Contact date' },
				{ name: 'eventDate', type: 'datetime', label: 'Event date' },
				{ name: 'status', type: 'enumeration', label: 'Status', values: ['sent', 'failed'] },
				// CS help/sending/using/understanding-delivery-failures.md: Hard, Soft, Ignored.
				{
					name: 'failureType',
					type: 'enumeration',
					label: 'Failure type',
					values: ['hard', 'soft', 'ignored'],
				},
				{ name: 'mirrorPageUrl', type: 'string', label: 'Mirror page URL', length: 1024 },
			],
		},
		{
			name: TRACKING_LOGS,
			label: 'Tracking logs',
			internal: true,
			fields: [
				{ name: 'logId', type: 'long', label: 'Tracking log ID', unique: true },
				{ name: 'broadLogId', type: 'long', label: 'Delivery log ID' },
				profileLink,
				// `Open` for an open, the link's label for a click (the GDPR sample's urlLabel).
				{ name: 'urlLabel', type: 'string', label: 'Label', length: 255 },
				{ name: 'url', type: 'string', label: 'URL', length: 1024 },
				{ name: 'logDate', type: 'datetime', label: 'Log date' },
			],
		},
	];
}
