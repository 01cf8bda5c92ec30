// CDK entry point (`cdk.json` runs it with tsx). Choose the deployment with `-c env=<name>`.
import { createJobsApp } from './jobs-app.js';

createJobsApp();
