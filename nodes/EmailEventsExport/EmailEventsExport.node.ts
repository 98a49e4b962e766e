import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import {
	CAMPAIGN_CREDENTIAL,
	CAMPAIGN_CREDENTIAL_LABEL,
	DYNAMICS_CREDENTIAL,
	DYNAMICS_CREDENTIAL_LABEL,
} from '../shared/clients';
import { searchTables } from '../shared/methods';
import { dynamicsTableLocator } from '../shared/properties';
import { execute } from './execute';
import {
	getActivityColumns,
	getClickColumns,
	getProfileKeyFields,
	getProfileKeyFilters,
} from './methods';

export class EmailEventsExport implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Email Events Export',
		name: 'emailEventsExport',
		icon: { light: 'file:../icons/email-events.svg', dark: 'file:../icons/email-events.dark.svg' },
		group: ['transform'],
		version: 1,
		usableAsTool: true,
		subtitle:
			'={{($parameter["source"] === "input" ? "Input Items" : "Campaign") + " → Dynamics 365"}}',
		description:
			'Exports Adobe Campaign email events (sends, opens, clicks, bounces) to Microsoft Dynamics 365 as timeline activities of the contact',
		defaults: { name: 'Email Events Export' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: DYNAMICS_CREDENTIAL, required: true, displayName: DYNAMICS_CREDENTIAL_LABEL },
			{ name: CAMPAIGN_CREDENTIAL, required: true, displayName: CAMPAIGN_CREDENTIAL_LABEL },
		],
		properties: [
			{
				displayName: 'Source',
				name: 'source',
				type: 'options',
				options: [
					{
						name: 'Campaign Event Records',
						value: 'campaign',
						description:
							"Read the email event records of Campaign's event resource (docs/CAMPAIGN-SETUP.md) modified since the last run: none passed by, none written twice",
					},
					{
						name: 'Input Items',
						value: 'input',
						description:
							'Export the incoming items, which have the shape of email event records (e.g. from a Webhook; see the README)',
					},
				],
				default: 'campaign',
			},
			{
				displayName: 'Sends',
				name: 'sends',
				type: 'boolean',
				default: true,
				description: 'Whether to export send events as Email Send activities',
			},
			{
				displayName: 'Clicks',
				name: 'clicks',
				type: 'boolean',
				default: true,
				description: 'Whether to export click events as Email URL Click activities',
			},
			{
				displayName: 'Opens',
				name: 'opens',
				type: 'boolean',
				default: true,
				description: 'Whether to export open events as Email Open activities',
			},
			{
				displayName: 'Bounces',
				name: 'bounces',
				type: 'boolean',
				default: true,
				description: 'Whether to export bounce events as Email Bounce activities',
			},
			dynamicsTableLocator({
				displayName: 'Email Send Table',
				name: 'sendTable',
				default: 'adobe_emailsend',
				description: 'The Dynamics 365 activity table that receives send events',
			}),
			dynamicsTableLocator({
				displayName: 'Email Open Table',
				name: 'openTable',
				default: 'adobe_emailopen',
				description: 'The Dynamics 365 activity table that receives open events',
			}),
			dynamicsTableLocator({
				displayName: 'Email URL Click Table',
				name: 'clickTable',
				default: 'adobe_emailclick',
				description: 'The Dynamics 365 activity table that receives click events',
			}),
			dynamicsTableLocator({
				displayName: 'Email Bounce Table',
				name: 'bounceTable',
				default: 'adobe_emailbounce',
				description: 'The Dynamics 365 activity table that receives bounce events',
			}),
			{
				displayName: 'Create Missing Activity Tables',
				name: 'createMissingTables',
				type: 'boolean',
				default: false,
				description:
					'Whether to create, before writing, the activity tables, their columns and the alternate key on the event ID that Dynamics 365 lacks, and wait until the key is Active. Needs a security role that may customize Dynamics 365 (e.g. System Customizer). Off: a missing table, column or key stops the run, naming it.',
			},
			{
				displayName: 'Campaign Profile Key Name or ID',
				name: 'profileKey',
				type: 'options',
				typeOptions: { loadOptionsMethod: 'getProfileKeyFields' },
				default: 'externalId',
				description:
					'The profile field that holds the Dynamics 365 contact ID: the Campaign key of the Dynamics 365 → Campaign mapping of contact → profile. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
			},
			{
				displayName: 'Profile Key Filter Name or ID',
				name: 'profileKeyFilter',
				type: 'options',
				typeOptions: {
					loadOptionsMethod: 'getProfileKeyFilters',
					loadOptionsDependsOn: ['profileKey'],
				},
				default: '',
				description:
					'The profile filter that finds profiles by the Campaign Profile Key, as in Apply Field Mapping. "By Name" uses the filter named after the key, e.g. byExternalId for externalId. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
			},
			{
				displayName: 'Activity Columns',
				name: 'activityColumns',
				type: 'collection',
				placeholder: 'Add Column',
				default: {},
				description: 'Columns of the activity tables, when they differ from the defaults',
				options: [
					{
						displayName: 'Campaign Column Name or ID',
						name: 'campaignName',
						type: 'options',
						typeOptions: {
							loadOptionsMethod: 'getActivityColumns',
							loadOptionsDependsOn: ['sendTable.value'],
						},
						default: 'adobe_campaignname',
						description:
							'Column that receives the campaign name. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
					},
					{
						displayName: 'Clicked URL Column Name or ID',
						name: 'clickedUrl',
						type: 'options',
						typeOptions: {
							loadOptionsMethod: 'getClickColumns',
							loadOptionsDependsOn: ['clickTable.value'],
						},
						default: 'adobe_clickedurl',
						description:
							'Column of the click table that receives the clicked URL. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
					},
					{
						displayName: 'Delivery Column Name or ID',
						name: 'deliveryName',
						type: 'options',
						typeOptions: {
							loadOptionsMethod: 'getActivityColumns',
							loadOptionsDependsOn: ['sendTable.value'],
						},
						default: 'adobe_deliveryname',
						description:
							'Column that receives the delivery name. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
					},
					{
						displayName: 'Event Date Column Name or ID',
						name: 'date',
						type: 'options',
						typeOptions: {
							loadOptionsMethod: 'getActivityColumns',
							loadOptionsDependsOn: ['sendTable.value'],
						},
						default: 'adobe_eventdate',
						description:
							'Column that receives the date and time of the event. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
					},
					{
						displayName: 'Event ID Column Name or ID',
						name: 'eventId',
						type: 'options',
						typeOptions: {
							loadOptionsMethod: 'getActivityColumns',
							loadOptionsDependsOn: ['sendTable.value'],
						},
						default: 'adobe_eventid',
						description:
							'Column that holds the Campaign event ID; it must be an alternate key of each table, so that a re-run never creates a second activity. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
					},
					{
						displayName: 'Mirror Page Column Name or ID',
						name: 'mirrorPageUrl',
						type: 'options',
						typeOptions: {
							loadOptionsMethod: 'getActivityColumns',
							loadOptionsDependsOn: ['sendTable.value'],
						},
						default: 'adobe_mirrorpageurl',
						description:
							'Column that receives the mirror page URL. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
					},
					{
						displayName: 'Subject Column Name or ID',
						name: 'subject',
						type: 'options',
						typeOptions: {
							loadOptionsMethod: 'getActivityColumns',
							loadOptionsDependsOn: ['sendTable.value'],
						},
						default: 'subject',
						description:
							'Column that receives the subject (campaign ID - delivery ID). Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
					},
				],
			},
			{
				displayName: 'Campaign Events',
				name: 'campaignEvents',
				type: 'collection',
				placeholder: 'Add Setting',
				default: {},
				displayOptions: { show: { source: ['campaign'] } },
				description:
					'Where Campaign keeps the events, when it differs from the setup in docs/CAMPAIGN-SETUP.md',
				options: [
					{
						displayName: 'Event ID Filter',
						name: 'eventKeyFilter',
						type: 'string',
						default: '',
						description:
							'The filter that finds an event by its ID, to retry failed events. Empty: the filter named after the Event ID field (byEventId).',
					},
					{
						displayName: 'Event Resource',
						name: 'eventResource',
						type: 'string',
						default: 'cusEmailEvent',
						description: 'The custom resource, linked to the profile, that holds the email events',
					},
					{
						displayName: 'Filter Parameter',
						name: 'filterParameter',
						type: 'string',
						default: '',
						description:
							"The Modified-Since Filter's parameter. Empty: its one parameter, named by Campaign (e.g. modifiedSince_parameter).",
					},
					{
						displayName: 'Modification Date Field',
						name: 'dateField',
						type: 'string',
						default: 'lastModified',
						description:
							"The resource's modification date (an audit field): the filter tests it and the events are read in its order",
					},
					{
						displayName: 'Modified-Since Filter',
						name: 'modifiedSinceFilter',
						type: 'string',
						default: 'byModifiedSince',
						description:
							'The filter that returns the events modified at or after a date, its one parameter',
					},
				],
			},
			{
				displayName: 'Event Fields',
				name: 'eventFields',
				type: 'collection',
				placeholder: 'Add Field',
				default: {},
				description:
					'Field names of the event records (and input items), when they differ from the setup in docs/CAMPAIGN-SETUP.md',
				options: [
					{
						displayName: 'Campaign ID',
						name: 'campaignId',
						type: 'string',
						default: 'campaignId',
						description: 'The campaign ID, for the subject',
					},
					{
						displayName: 'Campaign Name',
						name: 'campaignName',
						type: 'string',
						default: 'campaignName',
						description: 'The campaign name of the event',
					},
					{
						displayName: 'Clicked URL',
						name: 'clickedUrl',
						type: 'string',
						default: 'clickedUrl',
						description: 'The URL a click followed',
					},
					{
						displayName: 'Date',
						name: 'date',
						type: 'string',
						default: 'date',
						description: 'When the event happened',
					},
					{
						displayName: 'Delivery ID',
						name: 'deliveryId',
						type: 'string',
						default: 'deliveryId',
						description: 'The delivery ID, for the subject',
					},
					{
						displayName: 'Delivery Name',
						name: 'deliveryName',
						type: 'string',
						default: 'deliveryName',
						description: 'The delivery name of the event',
					},
					{
						displayName: 'Event ID',
						name: 'eventId',
						type: 'string',
						default: 'eventId',
						description: 'The event ID: unique, the key of the activity in Dynamics 365',
					},
					{
						displayName: 'Mirror Page URL',
						name: 'mirrorPageUrl',
						type: 'string',
						default: 'mirrorPageUrl',
						description: 'The mirror page URL of the email',
					},
					{
						displayName: 'Profile Key',
						name: 'profileKey',
						type: 'string',
						default: 'profileExternalId',
						description:
							"The profile's Campaign Profile Key copied into the event. When it is empty, the profile is read through the link.",
					},
					{
						displayName: 'Profile Link',
						name: 'profile',
						type: 'string',
						default: 'profile',
						description: "The link to the event's profile (its PKey and href)",
					},
					{
						displayName: 'Type',
						name: 'type',
						type: 'string',
						default: 'type',
						description: 'The event type: send, open, click or bounce',
					},
				],
			},
			{
				displayName: 'Create Follow-Up Tasks',
				name: 'createFollowUpTasks',
				type: 'boolean',
				default: false,
				description:
					"Whether to create a task for the contact's owner when the contact clicks a link or an email bounces",
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'Batch Size',
						name: 'batchSize',
						type: 'number',
						typeOptions: { minValue: 1, maxValue: 1000 },
						default: 10,
						description:
							'Writes per Dynamics 365 $batch request (at most 1,000). Microsoft advises small batches: a large one runs long and meets the service protection limits sooner.',
					},
					{
						displayName: 'Failed Events Kept',
						name: 'maxFailedKept',
						type: 'number',
						typeOptions: { minValue: 1, maxValue: 100000 },
						default: 1000,
						description:
							'Most failed events kept to retry on the next runs. When that many are kept, reading stops before the next failure until some are exported, so no event is passed by.',
					},
					{
						displayName: 'Max Events per Run',
						name: 'maxEventsPerRun',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: 5000,
						description:
							'Most Campaign events one run reads; the rest follow in the next runs. Bounds the memory and time of each run.',
					},
					{
						displayName: 'Page Size',
						name: 'pageSize',
						type: 'number',
						typeOptions: { minValue: 1, maxValue: 1000 },
						default: 100,
						description: 'Campaign events per request (at most 1,000)',
					},
				],
			},
		],
	};

	methods = {
		loadOptions: {
			getActivityColumns,
			getClickColumns,
			getProfileKeyFields,
			getProfileKeyFilters,
		},
		listSearch: { searchTables },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await execute.call(this);
	}
}
