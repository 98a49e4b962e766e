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
import { exportEmailEvents } from './export';
import { getActivityColumns, getClickColumns } from './methods';

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
							"Read Campaign's email event records after the last run's checkpoint: none skipped, none repeated",
					},
					{
						name: 'Input Items',
						value: 'input',
						description:
							'Export the incoming items, which have the shape of email event records (e.g. from a Webhook)',
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
						displayName: 'Event Resource',
						name: 'eventResource',
						type: 'string',
						default: 'cusEmailEvent',
						description: 'The Campaign custom resource that holds the email event records',
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
		loadOptions: { getActivityColumns, getClickColumns },
		listSearch: { searchTables },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await exportEmailEvents.call(this);
	}
}
