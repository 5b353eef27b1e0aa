#!/usr/bin/env node
import { VERSION } from "../src/version.ts"; console.log(VERSION, process.version);
