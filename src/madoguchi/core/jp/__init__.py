"""Japanese domain library: 和暦, 開庁日, search normalisation, 個人番号 and 団体コード check digits, 郵便番号."""
