-- LinOTP 4.0.0.0 data model, as LinOTP 4.0.0.dev0 (SQLAlchemy) creates it on MySQL/MariaDB:
-- Integer primary keys become INTEGER AUTO_INCREMENT, Unicode(n) VARCHAR(n), LargeBinary BLOB,
-- DateTime DATETIME, Boolean BOOL; imported_user keeps LinOTP's utf8/utf8_unicode_ci.
-- MySQL commits DDL implicitly, so this cannot run in one transaction: every statement is
-- written to be re-runnable (IF NOT EXISTS, indexes inline, INSERT IGNORE) so a run that
-- failed half-way can simply be repeated.
-- An existing LinOTP database already has all of this: it is then recorded as applied
-- ("adopted") without running.

CREATE TABLE IF NOT EXISTS `Token` (
	`LinOtpTokenId` INTEGER NOT NULL AUTO_INCREMENT,
	`LinOtpTokenDesc` VARCHAR(80),
	`LinOtpTokenSerialnumber` VARCHAR(40) NOT NULL,
	`LinOtpTokenType` VARCHAR(30),
	`LinOtpTokenInfo` VARCHAR(2000),
	`LinOtpTokenPinUser` VARCHAR(512),
	`LinOtpTokenPinUserIV` VARCHAR(32),
	`LinOtpIdResolver` VARCHAR(120),
	`LinOtpIdResClass` VARCHAR(120),
	`LinOtpUserid` VARCHAR(320),
	`LinOtpSeed` VARCHAR(32),
	`LinOtpOtpLen` INTEGER,
	`LinOtpPinHash` VARCHAR(512),
	`LinOtpKeyEnc` VARCHAR(1024),
	`LinOtpKeyIV` VARCHAR(32),
	`LinOtpMaxFail` INTEGER,
	`LinOtpIsactive` BOOL,
	`LinOtpFailCount` INTEGER,
	`LinOtpCount` INTEGER,
	`LinOtpCountWindow` INTEGER,
	`LinOtpSyncWindow` INTEGER,
	`LinOtpCreationDate` DATETIME,
	`LinOtpLastAuthSuccess` DATETIME,
	`LinOtpLastAuthMatch` DATETIME,
	PRIMARY KEY (`LinOtpTokenId`),
	INDEX `ix_Token_LinOtpCreationDate` (`LinOtpCreationDate`),
	INDEX `ix_Token_LinOtpIdResolver` (`LinOtpIdResolver`),
	INDEX `ix_Token_LinOtpLastAuthMatch` (`LinOtpLastAuthMatch`),
	INDEX `ix_Token_LinOtpLastAuthSuccess` (`LinOtpLastAuthSuccess`),
	UNIQUE INDEX `ix_Token_LinOtpTokenSerialnumber` (`LinOtpTokenSerialnumber`),
	INDEX `ix_Token_LinOtpTokenType` (`LinOtpTokenType`),
	INDEX `ix_Token_LinOtpUserid` (`LinOtpUserid`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `Realm` (
	`id` INTEGER NOT NULL AUTO_INCREMENT,
	`name` VARCHAR(255) NOT NULL,
	`default` BOOL,
	`option` VARCHAR(40),
	PRIMARY KEY (`id`),
	UNIQUE (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `TokenRealm` (
	`id` INTEGER NOT NULL AUTO_INCREMENT,
	`token_id` INTEGER,
	`realm_id` INTEGER,
	PRIMARY KEY (`id`),
	FOREIGN KEY(`token_id`) REFERENCES `Token` (`LinOtpTokenId`),
	FOREIGN KEY(`realm_id`) REFERENCES `Realm` (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `Config` (
	`Key` VARCHAR(255) NOT NULL,
	`Value` VARCHAR(2000),
	`Type` VARCHAR(2000),
	`Description` VARCHAR(2000),
	PRIMARY KEY (`Key`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `challenges` (
	`id` INTEGER NOT NULL AUTO_INCREMENT,
	`transid` VARCHAR(64) NOT NULL,
	`ptransid` VARCHAR(64),
	`data` VARCHAR(512),
	`bdata` BLOB,
	`challenge` VARCHAR(512),
	`lchallenge` VARCHAR(2000),
	`bchallenge` BLOB,
	`session` VARCHAR(512),
	`tokenserial` VARCHAR(64),
	`timestamp` DATETIME,
	`received_count` INTEGER,
	`received_tan` BOOL,
	`valid_tan` BOOL,
	PRIMARY KEY (`id`),
	INDEX `ix_challenges_ptransid` (`ptransid`),
	INDEX `ix_challenges_tokenserial` (`tokenserial`),
	UNIQUE INDEX `ix_challenges_transid` (`transid`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `imported_user` (
	`groupid` VARCHAR(100) NOT NULL,
	`userid` VARCHAR(100) NOT NULL,
	`username` VARCHAR(255),
	`phone` VARCHAR(100),
	`mobile` VARCHAR(100),
	`email` VARCHAR(100),
	`surname` VARCHAR(100),
	`givenname` VARCHAR(100),
	`password` VARCHAR(255),
	PRIMARY KEY (`groupid`, `userid`),
	INDEX `ix_imported_user_groupid` (`groupid`),
	INDEX `ix_imported_user_password` (`password`),
	INDEX `ix_imported_user_userid` (`userid`),
	INDEX `ix_imported_user_username` (`username`)
) ENGINE=InnoDB CHARSET=utf8 COLLATE utf8_unicode_ci;

CREATE TABLE IF NOT EXISTS `logging_config` (
	`name` VARCHAR(200) NOT NULL,
	`level` INTEGER,
	PRIMARY KEY (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `REPORTING` (
	`R_ID` INTEGER NOT NULL AUTO_INCREMENT,
	`R_TIMESTAMP` DATETIME,
	`R_EVENT` VARCHAR(250),
	`R_REALM` VARCHAR(250),
	`R_PARAMETER` VARCHAR(250),
	`R_VALUE` VARCHAR(250),
	`R_COUNT` INTEGER,
	`R_DETAIL` VARCHAR(2000),
	`R_SESSION` VARCHAR(250),
	`R_DESCRIPTION` VARCHAR(2000),
	PRIMARY KEY (`R_ID`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `audit` (
	`id` INTEGER NOT NULL AUTO_INCREMENT,
	`timestamp` VARCHAR(30),
	`signature` VARCHAR(512),
	`action` VARCHAR(30),
	`success` VARCHAR(30),
	`serial` VARCHAR(30),
	`tokentype` VARCHAR(40),
	`user` VARCHAR(255),
	`realm` VARCHAR(255),
	`administrator` VARCHAR(255),
	`action_detail` VARCHAR(512),
	`info` VARCHAR(512),
	`linotp_server` VARCHAR(80),
	`client` VARCHAR(80),
	`log_level` VARCHAR(20),
	`clearance_level` INTEGER,
	PRIMARY KEY (`id`),
	INDEX `ix_audit_action` (`action`),
	INDEX `ix_audit_log_level` (`log_level`),
	INDEX `ix_audit_realm` (`realm`),
	INDEX `ix_audit_serial` (`serial`),
	INDEX `ix_audit_timestamp` (`timestamp`),
	INDEX `ix_audit_user` (`user`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

INSERT IGNORE INTO `Config` (`Key`, `Value`, `Type`, `Description`)
VALUES ('linotp.sql_data_model_version', '4.0.0.0', '', '');
