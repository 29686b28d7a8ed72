-- LinOTP 4.0.0.0 data model, as LinOTP 4.0.0.dev0 (SQLAlchemy) creates it on PostgreSQL:
-- Integer primary keys with an optional Sequence become SERIAL, Unicode(n) VARCHAR(n),
-- LargeBinary BYTEA, DateTime TIMESTAMP WITHOUT TIME ZONE. Mixed-case and reserved names
-- are quoted. An existing LinOTP database already has all of this: it is then recorded as
-- applied ("adopted") without running.

CREATE TABLE "Token" (
	"LinOtpTokenId" SERIAL NOT NULL,
	"LinOtpTokenDesc" VARCHAR(80),
	"LinOtpTokenSerialnumber" VARCHAR(40) NOT NULL,
	"LinOtpTokenType" VARCHAR(30),
	"LinOtpTokenInfo" VARCHAR(2000),
	"LinOtpTokenPinUser" VARCHAR(512),
	"LinOtpTokenPinUserIV" VARCHAR(32),
	"LinOtpIdResolver" VARCHAR(120),
	"LinOtpIdResClass" VARCHAR(120),
	"LinOtpUserid" VARCHAR(320),
	"LinOtpSeed" VARCHAR(32),
	"LinOtpOtpLen" INTEGER,
	"LinOtpPinHash" VARCHAR(512),
	"LinOtpKeyEnc" VARCHAR(1024),
	"LinOtpKeyIV" VARCHAR(32),
	"LinOtpMaxFail" INTEGER,
	"LinOtpIsactive" BOOLEAN,
	"LinOtpFailCount" INTEGER,
	"LinOtpCount" INTEGER,
	"LinOtpCountWindow" INTEGER,
	"LinOtpSyncWindow" INTEGER,
	"LinOtpCreationDate" TIMESTAMP WITHOUT TIME ZONE,
	"LinOtpLastAuthSuccess" TIMESTAMP WITHOUT TIME ZONE,
	"LinOtpLastAuthMatch" TIMESTAMP WITHOUT TIME ZONE,
	PRIMARY KEY ("LinOtpTokenId")
);
CREATE INDEX "ix_Token_LinOtpCreationDate" ON "Token" ("LinOtpCreationDate");
CREATE INDEX "ix_Token_LinOtpIdResolver" ON "Token" ("LinOtpIdResolver");
CREATE INDEX "ix_Token_LinOtpLastAuthMatch" ON "Token" ("LinOtpLastAuthMatch");
CREATE INDEX "ix_Token_LinOtpLastAuthSuccess" ON "Token" ("LinOtpLastAuthSuccess");
CREATE UNIQUE INDEX "ix_Token_LinOtpTokenSerialnumber" ON "Token" ("LinOtpTokenSerialnumber");
CREATE INDEX "ix_Token_LinOtpTokenType" ON "Token" ("LinOtpTokenType");
CREATE INDEX "ix_Token_LinOtpUserid" ON "Token" ("LinOtpUserid");

CREATE TABLE "Realm" (
	id SERIAL NOT NULL,
	name VARCHAR(255) NOT NULL,
	"default" BOOLEAN,
	option VARCHAR(40),
	PRIMARY KEY (id),
	UNIQUE (name)
);

CREATE TABLE "TokenRealm" (
	id SERIAL NOT NULL,
	token_id INTEGER,
	realm_id INTEGER,
	PRIMARY KEY (id),
	FOREIGN KEY(token_id) REFERENCES "Token" ("LinOtpTokenId"),
	FOREIGN KEY(realm_id) REFERENCES "Realm" (id)
);

CREATE TABLE "Config" (
	"Key" VARCHAR(255) NOT NULL,
	"Value" VARCHAR(2000),
	"Type" VARCHAR(2000),
	"Description" VARCHAR(2000),
	PRIMARY KEY ("Key")
);

CREATE TABLE challenges (
	id SERIAL NOT NULL,
	transid VARCHAR(64) NOT NULL,
	ptransid VARCHAR(64),
	data VARCHAR(512),
	bdata BYTEA,
	challenge VARCHAR(512),
	lchallenge VARCHAR(2000),
	bchallenge BYTEA,
	session VARCHAR(512),
	tokenserial VARCHAR(64),
	timestamp TIMESTAMP WITHOUT TIME ZONE,
	received_count INTEGER,
	received_tan BOOLEAN,
	valid_tan BOOLEAN,
	PRIMARY KEY (id)
);
CREATE INDEX ix_challenges_ptransid ON challenges (ptransid);
CREATE INDEX ix_challenges_tokenserial ON challenges (tokenserial);
CREATE UNIQUE INDEX ix_challenges_transid ON challenges (transid);

CREATE TABLE imported_user (
	groupid VARCHAR(100) NOT NULL,
	userid VARCHAR(100) NOT NULL,
	username VARCHAR(255),
	phone VARCHAR(100),
	mobile VARCHAR(100),
	email VARCHAR(100),
	surname VARCHAR(100),
	givenname VARCHAR(100),
	password VARCHAR(255),
	PRIMARY KEY (groupid, userid)
);
CREATE INDEX ix_imported_user_groupid ON imported_user (groupid);
CREATE INDEX ix_imported_user_password ON imported_user (password);
CREATE INDEX ix_imported_user_userid ON imported_user (userid);
CREATE INDEX ix_imported_user_username ON imported_user (username);

CREATE TABLE logging_config (
	name VARCHAR(200) NOT NULL,
	level INTEGER,
	PRIMARY KEY (name)
);

CREATE TABLE "REPORTING" (
	"R_ID" SERIAL NOT NULL,
	"R_TIMESTAMP" TIMESTAMP WITHOUT TIME ZONE,
	"R_EVENT" VARCHAR(250),
	"R_REALM" VARCHAR(250),
	"R_PARAMETER" VARCHAR(250),
	"R_VALUE" VARCHAR(250),
	"R_COUNT" INTEGER,
	"R_DETAIL" VARCHAR(2000),
	"R_SESSION" VARCHAR(250),
	"R_DESCRIPTION" VARCHAR(2000),
	PRIMARY KEY ("R_ID")
);

CREATE TABLE audit (
	id SERIAL NOT NULL,
	timestamp VARCHAR(30),
	signature VARCHAR(512),
	action VARCHAR(30),
	success VARCHAR(30),
	serial VARCHAR(30),
	tokentype VARCHAR(40),
	"user" VARCHAR(255),
	realm VARCHAR(255),
	administrator VARCHAR(255),
	action_detail VARCHAR(512),
	info VARCHAR(512),
	linotp_server VARCHAR(80),
	client VARCHAR(80),
	log_level VARCHAR(20),
	clearance_level INTEGER,
	PRIMARY KEY (id)
);
CREATE INDEX ix_audit_action ON audit (action);
CREATE INDEX ix_audit_log_level ON audit (log_level);
CREATE INDEX ix_audit_realm ON audit (realm);
CREATE INDEX ix_audit_serial ON audit (serial);
CREATE INDEX ix_audit_timestamp ON audit (timestamp);
CREATE INDEX ix_audit_user ON audit ("user");

INSERT INTO "Config" ("Key", "Value", "Type", "Description")
VALUES ('linotp.sql_data_model_version', '4.0.0.0', '', '');
