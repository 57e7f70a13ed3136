"""Japanese domain library: 和暦, 開庁日, search keys, check digits (個人番号, 団体コード), 郵便番号."""
